using System.Text;
using Foom.Report.Callers;
using Foom.Report.Model;

namespace Foom.Report.Tests.Callers;

public sealed class CallerRulesTests
{
    private static readonly Func<string, string?> Modules = CallerRules.ModuleNames(
    [
        new ReportModule { Uuid = "hook", Name = "libfoomhook.so" },
        new ReportModule { Uuid = "libc", Name = "libc.so.6", Path = "/usr/lib/x86_64-linux-gnu/libc.so.6" },
        new ReportModule { Uuid = "cxx", Name = "libstdc++.so.6" },
        new ReportModule { Uuid = "app", Name = "myapp", Path = "/opt/myapp/bin/myapp" },
        new ReportModule { Uuid = "glib", Name = "libglib-2.0.so.0" },
        new ReportModule { Uuid = "py", Name = "libpython3.11.so.1.0" },
        new ReportModule { Uuid = "clr", Name = "libcoreclr.so" },
        new ReportModule { Uuid = "sysmalloc", Name = "libsystem_malloc.dylib" },
        new ReportModule { Uuid = "objc", Name = "libobjc.A.dylib" },
        new ReportModule { Uuid = "cf", Name = "CoreFoundation" },
        new ReportModule { Uuid = "ios", Name = "WeChat" },
    ]);

    private static ReportFrame F(string uuid, string? function = null, ulong offset = 0x10) =>
        new() { Uuid = uuid, Function = function, Offset = offset };

    private static string? CallerOf(params ReportFrame[] frames)
    {
        var index = CallerRules.Default.FindCaller(frames, Modules);
        return index < 0 ? null : frames[index].Function ?? CallerRules.FormatCaller(frames[index]);
    }

    [Fact]
    public void APythonStacksCallerIsItsInnermostPythonFunctionNotTheInterpretersCCode()
    {
        // malloc ← PyUnicode_Concat ← _PyEval_EvalFrameDefault ← py::remember ← py::main ← PyEval_EvalCode
        Assert.Equal("py::remember", CallerOf(F("libc", "malloc"), F("py", "PyUnicode_Concat"), F("py", "_PyEval_EvalFrameDefault"), F("py"),
            F("", "py::remember"), F("", "py::main"), F("py", "PyEval_EvalCode")));
        // A C extension called from Python is the caller: only the interpreter is skipped.
        Assert.Equal("encode", CallerOf(F("libc", "malloc"), F("app", "encode"), F("py", "_PyEval_EvalFrameDefault"), F("", "py::handler")));
        // Without Python frames the interpreter's function stays the caller, as before.
        Assert.Equal("PyUnicode_Concat", CallerOf(F("libc", "malloc"), F("py", "PyUnicode_Concat"), F("py", "_PyEval_EvalFrameDefault")));
    }

    [Fact]
    public void SkipsTheHookAndLibcMallocFamily()
    {
        Assert.Equal("load_contacts", CallerOf(F("hook", "foom_malloc"), F("libc", "__libc_malloc"), F("app", "load_contacts"), F("app", "main")));
        Assert.Equal("parse_line", CallerOf(F("hook"), F("libc", "strdup"), F("app", "parse_line")));
        Assert.Equal("grow", CallerOf(F("libc", "posix_memalign"), F("app", "grow")));
    }

    [Fact]
    public void SkipsOperatorNewAndStdAllocatorsBothMangledAndDemangled()
    {
        Assert.Equal("Cache::put(std::string const&)", CallerOf(
            F("cxx", "operator new(unsigned long)"),
            F("app", "std::__new_allocator<char>::allocate(unsigned long, void const*)"),
            F("app", "Cache::put(std::string const&)")));
        Assert.Equal("decode", CallerOf(F("cxx", "_Znwm"), F("app", "decode")));
        Assert.Equal("decode", CallerOf(F("cxx", "_ZnamSt11align_val_t"), F("app", "decode")));
    }

    [Fact]
    public void SkipsGlibCPythonAndDotNetAllocationHelpers()
    {
        Assert.Equal("gtk_widget_new_thing", CallerOf(F("glib", "g_malloc0"), F("glib", "g_slice_alloc"), F("app", "gtk_widget_new_thing")));
        Assert.Equal("list_append", CallerOf(F("py", "_PyObject_Malloc"), F("py", "PyMem_Malloc"), F("py", "list_append")));
        Assert.Equal("Program.LoadImages", CallerOf(F("clr", "WKS::gc_heap::allocate_more_space(alloc_context*, unsigned long, unsigned int, int)"),
            F("clr", "AllocateSzArray(MethodTable*, int, GC_ALLOC_FLAGS)"), F("clr", "JIT_NewArr1(CORINFO_CLASS_STRUCT_*, long)"), F("app", "Program.LoadImages")));
    }

    [Fact]
    public void SkipsIosMallocObjcAndCoreFoundationAllocationFrames()
    {
        Assert.Equal("-[MMContactMgr loadAll]", CallerOf(
            F("sysmalloc"), F("sysmalloc", "_malloc_zone_malloc"), F("objc", "_objc_rootAllocWithZone"), F("objc", "objc_alloc_init"),
            F("cf"), F("ios", "-[MMContactMgr loadAll]")));
    }

    [Fact]
    public void UnnamedFramesCountAsAllocatorsOnlyInAllocatorModules()
    {
        // An unnamed libc frame at the top is malloc in all likelihood; an unnamed app frame is the app.
        Assert.Equal("app@4096", CallerOf(F("libc"), F("app", null, 4096), F("app", "main")));
        // A named libc function outside the malloc family is meaningful (fopen's FILE).
        Assert.Equal("fopen", CallerOf(F("libc", "malloc"), F("libc", "fopen"), F("app", "main")));
    }

    [Fact]
    public void FramesWithoutModulesOrNamesAreKeptAndAllAllocatorStacksFallBackToTheOutermost()
    {
        Assert.Equal("unknown@7", CallerOf(F("unknown", null, 7), F("unknown", null, 9)));
        Assert.Equal("free", CallerOf(F("libc", "malloc"), F("libc", "free")));
        Assert.Null(CallerOf());
    }

    [Fact]
    public void CustomRulesAddAnAppsOwnWrapper()
    {
        var json = """{"skip_modules":[],"skip_functions":["my_xmalloc"],"skip_unnamed_in_modules":[]}""";
        var rules = CallerRules.Parse(new MemoryStream(Encoding.UTF8.GetBytes(json)), "test.json");
        ReportFrame[] frames = [F("app", "my_xmalloc"), F("app", "worker")];
        Assert.Equal(1, rules.FindCaller(frames, Modules));
        Assert.Equal(0, CallerRules.Default.FindCaller(frames, Modules));
    }

    [Fact]
    public void ABrokenRuleFileNamesTheFileAndTheField()
    {
        var bad = """{"skip_functions":["(unclosed"]}""";
        var error = Assert.Throws<InvalidDataException>(() => CallerRules.Parse(new MemoryStream(Encoding.UTF8.GetBytes(bad)), "rules.json"));
        Assert.Contains("rules.json", error.Message);
        Assert.Contains("skip_functions[0]", error.Message);
        var notJson = Assert.Throws<InvalidDataException>(() => CallerRules.Parse(new MemoryStream("{nope"u8.ToArray()), "x.json"));
        Assert.Contains("x.json", notJson.Message);
    }

    [Fact]
    public void HostileLongNamesMatchInLinearTime()
    {
        var name = "std::allocator<" + new string('<', 200_000) + ">::deallocate_x";
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(CallerRules.Default.IsAllocatorFrame(name + "(", "myapp"));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void FormatCallerIsMatrixsUuidAtDecimalOffset() =>
        Assert.Equal("abc@255", CallerRules.FormatCaller(F("abc", null, 255)));
}
