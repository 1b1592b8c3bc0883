using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Foom.Testing;
using Foom.Ring;

namespace Foom.Ring.Tests;

/// <summary>The C# mirror of the ring (Foom.Ring/RingLayout.cs) against what gcc makes of
/// native/foomhook/foom_ring.h: every offset, size and constant.</summary>
public class RingLayoutTests
{
    private static readonly Dictionary<string, Type> Structs = new()
    {
        ["foom_ring_header"] = typeof(RingHeader),
        ["foom_record"] = typeof(RecordHeader),
        ["foom_record_alloc"] = typeof(AllocRecord),
        ["foom_record_alloc_failed"] = typeof(AllocFailedRecord),
        ["foom_record_free"] = typeof(FreeRecord),
        ["foom_record_map"] = typeof(MapRecord),
        ["foom_record_unmap"] = typeof(UnmapRecord),
        ["foom_record_module"] = typeof(ModuleRecord),
        ["foom_record_attach"] = typeof(AttachRecord),
    };

    private static readonly (string Prefix, Type Enum)[] Enums =
    [
        ("FOOM_STOP_", typeof(StopReason)), ("FOOM_STATE_", typeof(AppState)), ("FOOM_EXIT_", typeof(ExitKind)),
        ("FOOM_OPTION_", typeof(RingOptions)), ("FOOM_RECORD_", typeof(RecordKind)), ("FOOM_SOURCE_", typeof(EventSource)),
        ("FOOM_FLAG_", typeof(RecordFlags)), ("FOOM_MAP_", typeof(MapKind)), ("FOOM_MODULE_", typeof(ModuleFlags)),
        ("FOOM_ATTACH_", typeof(AttachFlags)),
    ];

    private static string[] LayoutLines()
    {
        var binary = CProgram.Build("ring_layout.c", "-O0");
        using var process = Process.Start(new ProcessStartInfo(binary) { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static string Pascal(string snake) =>
        string.Concat(snake.ToLowerInvariant().Split('_').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));

    private static int FieldSize(FieldInfo field)
    {
        var fixedBuffer = field.GetCustomAttribute<FixedBufferAttribute>();
        if (fixedBuffer is not null) return Marshal.SizeOf(fixedBuffer.ElementType) * fixedBuffer.Length;
        var type = field.FieldType.IsEnum ? Enum.GetUnderlyingType(field.FieldType) : field.FieldType;
        return Marshal.SizeOf(type);
    }

    [Fact]
    public void EveryCFieldHasTheSameOffsetAndSizeInCSharp()
    {
        var seen = new HashSet<(Type, string)>();
        var checkedFields = 0;
        foreach (var line in LayoutLines())
        {
            var parts = line.Split(' ');
            if (parts[0] == "size")
            {
                var type = Structs[parts[1]];
                Assert.True(int.Parse(parts[2]) == Marshal.SizeOf(type), $"sizeof(struct {parts[1]}) is {parts[2]} in C, {Marshal.SizeOf(type)} in {type.Name}");
            }
            else if (parts[0] == "field")
            {
                var type = Structs[parts[1]];
                var name = Pascal(parts[2]);
                var field = type.GetField(name, BindingFlags.Public | BindingFlags.Instance);
                Assert.True(field is not null, $"{parts[1]}.{parts[2]} has no field {type.Name}.{name}");
                var offset = field!.GetCustomAttribute<FieldOffsetAttribute>()!.Value;
                Assert.True(int.Parse(parts[3]) == offset, $"{parts[1]}.{parts[2]} is at {parts[3]} in C, {offset} in C#");
                Assert.True(int.Parse(parts[4]) == FieldSize(field), $"{parts[1]}.{parts[2]} has {parts[4]} bytes in C, {FieldSize(field)} in C#");
                seen.Add((type, name));
                checkedFields++;
            }
        }
        Assert.True(checkedFields > 60, $"only {checkedFields} fields were printed");
        foreach (var type in Structs.Values)
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
                Assert.True(seen.Contains((type, field.Name)), $"{type.Name}.{field.Name} has no counterpart in foom_ring.h (or ring_layout.c does not print it)");
    }

    [Fact]
    public void EveryConstantAndEnumValueAgrees()
    {
        var seen = new HashSet<(Type, string)>();
        foreach (var line in LayoutLines().Where(l => l.StartsWith("value ", StringComparison.Ordinal)))
        {
            var parts = line.Split(' ');
            var (cName, value) = (parts[1], ulong.Parse(parts[2]));
            if (cName.StartsWith("FOOM_RING_", StringComparison.Ordinal))
            {
                var constant = typeof(RingLayout).GetField(Pascal(cName["FOOM_RING_".Length..]));
                Assert.True(constant is not null, $"{cName} has no RingLayout.{Pascal(cName["FOOM_RING_".Length..])}");
                Assert.Equal(value, Convert.ToUInt64(constant!.GetRawConstantValue()));
                continue;
            }
            var (prefix, enumType) = Enums.Single(e => cName.StartsWith(e.Prefix, StringComparison.Ordinal));
            var member = Pascal(cName[prefix.Length..]);
            Assert.True(Enum.TryParse(enumType, member, out var parsed), $"{cName} has no {enumType.Name}.{member}");
            Assert.True(value == Convert.ToUInt64(parsed), $"{cName} is {value} in C, {Convert.ToUInt64(parsed)} in C#");
            seen.Add((enumType, member));
        }
        foreach (var (_, enumType) in Enums)
            foreach (var member in Enum.GetNames(enumType).Where(n => n != "None"))
                Assert.True(seen.Contains((enumType, member)), $"{enumType.Name}.{member} has no counterpart in foom_ring.h");
    }
}
