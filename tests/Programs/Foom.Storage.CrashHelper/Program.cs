using System.IO.MemoryMappedFiles;
using Foom.Storage;
using Foom.Storage.Stacks;
using Foom.Storage.Tests.Support;

// Usage: Foom.Storage.CrashHelper SESSION_DIR SEED PROGRESS_FILE
// Applies LiveOp.Stream(SEED) to a new session in SESSION_DIR until killed. After operation i has
// completed it stores i + 1 in PROGRESS_FILE (mapped, so the store survives SIGKILL). Prints
// "ready" once the session exists and the first operation is about to start: before that it runs
// the same code on a scratch session, so that a kill lands among operations, not in the JIT.
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: Foom.Storage.CrashHelper SESSION_DIR SEED PROGRESS_FILE");
    return 2;
}
var seed = int.Parse(args[1]);
var scratch = args[0] + ".warmup";
using (var warmup = Open(scratch)) Run(warmup, seed + 1, 30_000, _ => { });
Directory.Delete(scratch, recursive: true);

using var progressFile = MemoryMappedFile.CreateFromFile(args[2], FileMode.Create, null, 4096);
using var progress = progressFile.CreateViewAccessor(0, 8);
using var tables = Open(args[0]);
Console.WriteLine("ready");
Console.Out.Flush();
Run(tables, seed, long.MaxValue, done => progress.Write(0, done));
return 0;

static SessionTables Open(string directory)
{
    var tables = SessionTables.Create(directory, initialLiveSlots: 16, initialStackNodes: 16);
    tables.Modules.Load("/usr/bin/crash", "0123", CrashScript.ExeBase, CrashScript.ExeBase, 0x10000);
    tables.Modules.Load("/lib/libcrash.so", "4567", CrashScript.LibBase, CrashScript.LibBase, 0x100000);
    return tables;
}

static void Run(SessionTables tables, int seed, long count, Action<long> completed)
{
    var frames = new Frame[16];
    long done = 0;
    foreach (var op in LiveOp.Stream(seed))
    {
        if (done == count) return;
        var stackId = 0;
        if (op.Stack != 0)
        {
            var pcs = CrashScript.Pcs(op.Stack);
            tables.Modules.Resolve(pcs, frames);
            stackId = tables.Stacks.Intern(frames.AsSpan(0, pcs.Length));
        }
        var category = tables.Categories.Intern(CrashScript.Category(op.Category));
        (op with { Stack = stackId, Category = category }).Apply(tables.Live);
        completed(++done);
    }
}
