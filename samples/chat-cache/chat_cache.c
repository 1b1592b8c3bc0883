/*
 * The sample `foom demo` runs: a toy chat client with two of the classic FOOM causes of WeChat's monitor (docs/design.md).
 *
 *   chat_cache browse    opens a few chats, keeps a bounded cache, and exits normally
 *   chat_cache chat      scene "ChatRoom": every message loaded is kept in a cache that is never
 *                        trimmed (an unbounded cache), until the memory limit kills it
 *   chat_cache gallery   scene "Gallery": photos decoded at full size and kept for the
 *                        thumbnails (a full-size decode buffer per image), until killed
 *
 * It declares its scene and heartbeats through Foom's C API (native/foomhook/foom.h). The
 * declarations are weak, so the program also runs without the hook, the way an app ships.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int foom_set_scene(const char *scene) __attribute__((weak));
void foom_heartbeat(void) __attribute__((weak));

static void set_scene(const char *scene) {
    if (foom_set_scene) foom_set_scene(scene);
}

static void heartbeat(void) {
    if (foom_heartbeat) foom_heartbeat();
}

/* Pages are touched so that what is allocated is resident, as a real decoder's output is. */
static void *touch(void *block, size_t size) {
    if (block) memset(block, 0x5a, size);
    return block;
}

struct message {
    struct message *next;
    char *text;
    size_t length;
};

static struct message *cached_messages;

/* A settings blob read once at start: a small, steady allocation site beside the big ones. */
static __attribute__((noinline)) char *load_settings(void) {
    return touch(malloc(24 * 1024), 24 * 1024);
}

static __attribute__((noinline)) struct message *load_message(unsigned index) {
    struct message *message = touch(malloc(sizeof *message), sizeof *message);
    if (!message) return NULL;
    message->length = 1024 + (index % 7) * 512;
    message->text = touch(malloc(message->length), message->length);
    return message;
}

/* The bug: every message ever shown stays in the cache. */
static __attribute__((noinline)) void cache_message(struct message *message) {
    message->next = cached_messages;
    cached_messages = message;
}

static __attribute__((noinline)) void trim_cache(unsigned keep) {
    struct message **link = &cached_messages;
    for (unsigned kept = 0; *link && kept < keep; kept++) link = &(*link)->next;
    while (*link) {
        struct message *dropped = *link;
        *link = dropped->next;
        free(dropped->text);
        free(dropped);
    }
}

struct photo {
    uint32_t width, height;
    uint8_t *pixels; /* RGBA at full size: width * height * 4 bytes */
};

/* The bug: a 3-megapixel photo decoded at full size to show a 200-pixel thumbnail. */
static __attribute__((noinline)) struct photo decode_photo_full_size(uint32_t width, uint32_t height) {
    struct photo photo = { width, height, NULL };
    photo.pixels = touch(malloc((size_t)width * height * 4), (size_t)width * height * 4);
    return photo;
}

static int browse(void) {
    set_scene("ChatList");
    for (unsigned i = 0; i < 20000; i++) {
        struct message *message = load_message(i);
        if (!message) return 3;
        cache_message(message);
        if (i % 500 == 499) trim_cache(200);
        if (i % 1000 == 0) heartbeat();
    }
    trim_cache(200);
    printf("browsed 20000 messages, kept 200\n");
    return 0;
}

static int chat(void) {
    set_scene("ChatRoom");
    for (unsigned i = 0;; i++) {
        struct message *message = load_message(i);
        if (!message) return 3;
        cache_message(message);
        if (i % 1000 == 0) {
            heartbeat();
            usleep(2000);
        }
    }
}

static int gallery(void) {
    set_scene("Gallery");
    enum { MAX_PHOTOS = 4096 };
    static struct photo photos[MAX_PHOTOS];
    for (unsigned i = 0; i < MAX_PHOTOS; i++) {
        photos[i] = decode_photo_full_size(2000, 1500);
        if (!photos[i].pixels) return 3;
        heartbeat();
        usleep(20000);
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    char *settings = load_settings();
    int status;
    if (strcmp(mode, "browse") == 0) status = browse();
    else if (strcmp(mode, "chat") == 0) status = chat();
    else if (strcmp(mode, "gallery") == 0) status = gallery();
    else {
        fprintf(stderr, "usage: chat_cache browse|chat|gallery\n");
        status = 2;
    }
    free(settings);
    return status;
}
