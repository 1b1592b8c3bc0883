using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ViewModelHoarder;

/// <summary>
/// A chat client with a memory bug: every chat it opens builds a page of message view models, and
/// the navigation history keeps every page ever shown, so the view models are never freed. It
/// grows at a steady rate until the kernel (or `foom run --limit`) kills it.
///
/// Options: --rate MB (managed megabytes hoarded per second, default 10), --hold MB (stop growing
/// at that many megabytes and wait to be killed), --text-chars N (characters per message, default
/// 120: smaller makes a denser heap of more objects), --native-kb N (native memory each chat also
/// keeps, default 16, allocated by NativeThumbnails.Decode so that native stacks pass through JIT
/// code).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var rateMb = 10.0;
        long? holdMb = null;
        var textChars = 120;
        var nativeKb = 16;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--rate" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate > 0:
                    rateMb = rate; i++; break;
                case "--hold" when long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var hold) && hold > 0:
                    holdMb = hold; i++; break;
                case "--text-chars" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var chars) && chars >= 0:
                    textChars = chars; i++; break;
                case "--native-kb" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb) && kb >= 0:
                    nativeKb = kb; i++; break;
                default:
                    Console.Error.WriteLine($"ViewModelHoarder: unknown or malformed option '{args[i]}' " +
                                            "(options: --rate MB, --hold MB, --text-chars N, --native-kb N)");
                    return 2;
            }
        }

        Console.WriteLine($"ViewModelHoarder: pid {Environment.ProcessId}, hoarding {rateMb.ToString(CultureInfo.InvariantCulture)} MB/s" +
                          (holdMb is { } h ? $" up to {h} MB" : " until killed"));
        var history = new NavigationHistory();
        var started = DateTime.UtcNow;
        var lastReport = started;
        long chats = 0;
        while (true)
        {
            var due = (DateTime.UtcNow - started).TotalSeconds * rateMb * (1 << 20);
            if (holdMb is { } limit && history.ApproximateBytes >= limit << 20)
            {
                Console.WriteLine($"holding {history.MessageCount} view models ({history.ApproximateBytes >> 20} MB)");
                Thread.Sleep(Timeout.Infinite);
            }
            if (history.ApproximateBytes < due)
            {
                history.Push(ChatScreen.Open(chats++, textChars, nativeKb));
                continue;
            }
            if (DateTime.UtcNow - lastReport >= TimeSpan.FromSeconds(1))
            {
                lastReport = DateTime.UtcNow;
                Console.WriteLine($"hoarded {chats} chats, {history.MessageCount} view models ({history.ApproximateBytes >> 20} MB)");
            }
            Thread.Sleep(10);
        }
    }
}

/// <summary>The bug: "back" navigation keeps every screen ever shown, with all of its messages.</summary>
public sealed class NavigationHistory
{
    private readonly List<ChatPageViewModel> _pages = [];

    public long ApproximateBytes { get; private set; }
    public long MessageCount { get; private set; }

    public void Push(ChatPageViewModel page)
    {
        _pages.Add(page);
        ApproximateBytes += page.ApproximateBytes;
        MessageCount += page.Messages.Count;
    }
}

public static class ChatScreen
{
    private const int MessagesPerPage = 50;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ChatPageViewModel Open(long chat, int textChars, int nativeKb)
    {
        var page = new ChatPageViewModel($"chat {chat}", NativeThumbnails.Decode(nativeKb << 10));
        LoadMessages(page, chat, textChars);
        return page;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void LoadMessages(ChatPageViewModel page, long chat, int textChars)
    {
        for (var i = 0; i < MessagesPerPage; i++)
        {
            var message = new ChatMessageViewModel(
                author: "user" + (i % 7).ToString(CultureInfo.InvariantCulture),
                text: new string((char)('a' + (int)((chat + i) % 26)), textChars),
                sentAt: DateTime.UnixEpoch.AddSeconds(chat * MessagesPerPage + i));
            page.Messages.Add(message);
            page.ApproximateBytes += message.ApproximateBytes;
        }
    }
}

/// <summary>One chat screen: its title, its messages, and the decoded thumbnails it shows (native memory).</summary>
public sealed class ChatPageViewModel(string title, IntPtr thumbnails)
{
    public string Title { get; } = title;
    public IntPtr Thumbnails { get; } = thumbnails;
    public List<ChatMessageViewModel> Messages { get; } = [];
    public long ApproximateBytes { get; set; }
}

public sealed class ChatMessageViewModel(string author, string text, DateTime sentAt)
{
    public string Author { get; } = author;
    public string Text { get; } = text;
    public DateTime SentAt { get; } = sentAt;
    public bool IsRead { get; set; }
    /// <summary>Subscribers to property changes (the view binds here): one more object per message, as in a real MVVM app.</summary>
    public List<Action<string>> PropertyChangedHandlers { get; } = [];

    /// <summary>This object, its text, its author string and its handler list, about as the GC counts them (64-bit).</summary>
    public long ApproximateBytes => 56 + (24 + 2L * Text.Length) + 32 + 32;
}

/// <summary>Thumbnails decoded by a native library: here, native memory that is never freed.</summary>
public static class NativeThumbnails
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe IntPtr Decode(int bytes)
    {
        if (bytes == 0) return IntPtr.Zero;
        var pixels = (byte*)NativeMemory.Alloc((nuint)bytes);
        // Touch every page, as a decoder writes its pixels.
        for (var offset = 0; offset < bytes; offset += 4096) pixels[offset] = 1;
        return (IntPtr)pixels;
    }
}
