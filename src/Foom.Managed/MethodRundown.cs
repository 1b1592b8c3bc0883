using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Foom.Managed;

/// <summary>A managed method's code range, name and assembly, as the runtime's rundown lists it.</summary>
public readonly record struct MethodRange(ulong Start, ulong End, string Name, string? Module);

/// <summary>
/// The methods a .NET process has code for when the recorder connects — JIT'd ones and the
/// precompiled (ReadyToRun) code of its libraries — from a rundown: an EventPipe session that is
/// started and at once stopped, at which the runtime lists them. The allocation sampler's own
/// session then learns only what is compiled later (its method load events). TraceEvent's
/// TraceLog can do a rundown itself, but it keeps that session open until its own ends, and a
/// program exiting meanwhile blocks in its shutdown writing to the unread session; this one is
/// read to its end before the sampler starts, so nothing is left open.
/// </summary>
public sealed class MethodRundown
{
    private readonly MethodRange[] _ranges;

    private MethodRundown(MethodRange[] ranges) => _ranges = ranges;

    public int Count => _ranges.Length;

    public static MethodRundown Empty { get; } = new([]);

    /// <summary>Takes the rundown; an empty one when the session fails or does not end within <paramref name="timeout"/>.</summary>
    public static MethodRundown Take(DiagnosticsClient client, TimeSpan timeout)
    {
        EventPipeSession session;
        try
        {
            // No keywords of its own: only the rundown the runtime writes at the stop.
            var provider = new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, 0);
            try
            {
                session = client.StartEventPipeSession(new EventPipeSessionConfiguration([provider], 64, requestRundown: true, requestStackwalk: false));
            }
            catch (Exception problem) when (problem is ServerErrorException or UnsupportedCommandException)
            {
                // .NET 8 refuses the newer command that turns stack walks off: the older one.
                session = client.StartEventPipeSession([provider], requestRundown: true, 64);
            }
        }
        catch (Exception problem) when (problem is ServerErrorException or ServerNotAvailableException or UnsupportedCommandException or IOException or TimeoutException)
        {
            return Empty;
        }
        using var owned = session;
        var modules = new Dictionary<long, string>();
        var methods = new List<(ulong Start, ulong Size, string Name, long Module)>();
        using var source = new EventPipeEventSource(session.EventStream);
        var rundown = new ClrRundownTraceEventParser(source);
        rundown.LoaderModuleDCStop += data =>
        {
            if (data.ModuleILPath is { Length: > 0 } path) modules[data.ModuleID] = path;
        };
        rundown.MethodDCStopVerbose += data =>
        {
            if (data.MethodSize <= 0) return;
            methods.Add((data.MethodStartAddress, (ulong)data.MethodSize, FullName(data.MethodNamespace, data.MethodName, data.MethodSignature), data.ModuleID));
        };
        // The runtime writes the rundown while the stop is answered: the stream must be read meanwhile.
        var reading = Task.Factory.StartNew(() =>
        {
            try
            {
                source.Process();
            }
            catch (Exception problem) when (problem is IOException or ObjectDisposedException or EndOfStreamException or InvalidOperationException or FormatException)
            {
                // A cut stream: what was read is used.
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            session.Stop();
        }
        catch (Exception problem) when (problem is ServerErrorException or ServerNotAvailableException or IOException or TimeoutException)
        {
            // The program is gone: its stream ends.
        }
        if (!reading.Wait(timeout))
        {
            session.Dispose();
            reading.Wait(TimeSpan.FromSeconds(5));
            return Empty;
        }
        var ranges = methods
            .Select(m => new MethodRange(m.Start, m.Start + m.Size, m.Name, modules.GetValueOrDefault(m.Module)))
            .OrderBy(r => r.Start)
            .ToArray();
        return new MethodRundown(ranges);
    }

    /// <summary>The method whose code holds <paramref name="address"/>, or null.</summary>
    public MethodRange? Lookup(ulong address)
    {
        int low = 0, high = _ranges.Length - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            var range = _ranges[middle];
            if (address < range.Start) high = middle - 1;
            else if (address >= range.End) low = middle + 1;
            else return range;
        }
        return null;
    }

    /// <summary>"Namespace.Type.Method(arguments)", the form TraceEvent gives the methods it names itself.</summary>
    internal static string FullName(string type, string method, string signature)
    {
        var open = signature.IndexOf('(');
        var arguments = open >= 0 ? signature[open..] : "()";
        return type.Length == 0 ? method + arguments : $"{type}.{method}{arguments}";
    }
}
