using Foom.Symbols.Tests.Support;

namespace Foom.Symbols.Tests;

public class SymbolizerTests
{
    private const string Functions = "functions.c";

    private static Dictionary<string, (ulong Address, ulong Size)> FunctionsOf(string binary) =>
        Native.NmFunctions(binary).GroupBy(f => f.Name).ToDictionary(g => g.Key, g => (g.First().Address, g.First().Size));

    private static SymbolizeResult Symbolize(Symbolizer symbolizer, ModuleInfo module, params ulong[] offsets) =>
        symbolizer.Symbolize(new SymbolizeRequest
        {
            Modules = [module],
            Frames = offsets.Select(o => new FrameRef(0, o)).ToArray(),
        });

    private static ModuleInfo ModuleOf(string path) => new(path, Native.ReadelfBuildId(path));

    public static TheoryData<string> LineTools => new() { "llvm-symbolizer", "llvm-symbolizer text", "addr2line" };

    private static Symbolizer WithTool(string tool) => tool switch
    {
        "llvm-symbolizer" => new Symbolizer(new SymbolizerOptions { ToolSearchPath = ToolSet.With("llvm-symbolizer", "c++filt") }),
        "llvm-symbolizer text" => new Symbolizer(new SymbolizerOptions { ToolSearchPath = ToolSet.With("llvm-symbolizer", "c++filt"), ForceTextOutput = true }),
        "addr2line" => new Symbolizer(new SymbolizerOptions { ToolSearchPath = ToolSet.With("addr2line", "c++filt") }),
        _ => throw new ArgumentException(tool),
    };

    [Theory]
    [MemberData(nameof(LineTools))]
    public void FunctionsGetNameOffsetFileAndLine(string tool)
    {
        // -O0: a function's first instruction belongs to the line of its signature.
        var binary = Native.Compile(Functions, "-O0 -g -fPIE -pie");
        var functions = FunctionsOf(binary);
        var symbolizer = WithTool(tool);
        Assert.Equal(tool.Split(' ')[0], symbolizer.LineToolName);
        var names = new[] { "leaf_add", "static_helper", "make_buffer", "main" };
        var offsets = names.SelectMany(n => new[] { functions[n].Address, functions[n].Address + 4 }).ToArray();
        var result = Symbolize(symbolizer, ModuleOf(binary), offsets);

        Assert.Null(result.Modules[0].Problem);
        Assert.Null(result.Modules[0].LineProblem);
        for (var i = 0; i < names.Length; i++)
        {
            var atStart = result.Frames[2 * i];
            var inside = result.Frames[2 * i + 1];
            Assert.Equal(names[i], atStart.Function);
            Assert.Equal(names[i], atStart.Symbol);
            Assert.Equal(0UL, atStart.SymbolOffset);
            Assert.Equal(4UL, inside.SymbolOffset);
            Assert.EndsWith("/" + Functions, atStart.File);
            Assert.Equal(Native.MarkedLine(Functions, names[i]), atStart.Line);
            Assert.Null(atStart.LineProblem);
            // The first instructions after the entry are still in the function's first lines.
            Assert.InRange(inside.Line!.Value, Native.MarkedLine(Functions, names[i]), Native.MarkedLine(Functions, names[i]) + 6);
        }
    }

    [Theory]
    [MemberData(nameof(LineTools))]
    public void CppNamesComeDemangledWithInlineChains(string tool)
    {
        var binary = Native.Compile("widgets.cpp", "-O2 -g");
        var functions = FunctionsOf(binary);
        var growInt = functions["_ZN2ui6Widget4growEi"];
        var growDouble = functions["_ZN2ui6Widget4growEd"];
        var accumulate = functions.Single(f => f.Key.Contains("accumulate_all")).Value;
        var result = Symbolize(WithTool(tool), ModuleOf(binary), growInt.Address, growDouble.Address + 1, accumulate.Address);
        Assert.Equal("ui::Widget::grow(int)", result.Frames[0].Function);
        Assert.Equal("ui::Widget::grow(int)", result.Frames[0].Symbol);
        Assert.Equal(Native.MarkedLine("widgets.cpp", "ui::Widget::grow(int)"), result.Frames[0].Line);
        Assert.Equal("ui::Widget::grow(double)", result.Frames[1].Symbol);
        Assert.StartsWith("long ui::accumulate_all<long>(std::vector<long", result.Frames[2].Symbol);
        Assert.NotEmpty(result.Frames[2].Inlined);
        Assert.Equal(result.Frames[2].Function, result.Frames[2].Inlined[0].Function);
    }

    [Fact]
    public void InlinedCallsAppearInTheChainInnermostFirst()
    {
        var binary = Native.Compile("widgets.cpp", "-O2 -g");
        var main = FunctionsOf(binary)["main"];
        var symbolizer = WithTool("llvm-symbolizer");
        // Walk main's code: at -O2 accumulate_all's loop or std::vector code is inlined into it somewhere.
        var offsets = Enumerable.Range(0, (int)main.Size).Select(i => main.Address + (ulong)i).ToArray();
        var result = Symbolize(symbolizer, ModuleOf(binary), offsets);
        var inlined = result.Frames.FirstOrDefault(f => f.Inlined.Count > 1);
        Assert.NotNull(inlined);
        Assert.Equal("main", inlined.Inlined[^1].Function);
        Assert.Equal("main", inlined.Symbol);
        Assert.NotEqual("main", inlined.Function);
        Assert.Equal(inlined.Inlined[0].Function, inlined.Function);
    }

    [Fact]
    public void WithoutAnyToolNamesStillComeFromTheSymbolTableAndTheResultSaysWhyNoLines()
    {
        var binary = Native.Compile("widgets.cpp", "-O2 -g");
        var grow = FunctionsOf(binary)["_ZN2ui6Widget4growEi"];
        var symbolizer = new Symbolizer(new SymbolizerOptions { ToolSearchPath = ToolSet.With() });
        var result = Symbolize(symbolizer, ModuleOf(binary), grow.Address + 2);
        Assert.Null(symbolizer.LineToolName);
        Assert.Equal("_ZN2ui6Widget4growEi", result.Frames[0].Function); // no c++filt either: mangled
        Assert.Equal(2UL, result.Frames[0].SymbolOffset);
        Assert.Null(result.Frames[0].File);
        Assert.Contains("neither llvm-symbolizer nor addr2line", result.Frames[0].LineProblem);
        Assert.Contains("neither llvm-symbolizer nor addr2line", result.Modules[0].LineProblem);

        var withFilter = new Symbolizer(new SymbolizerOptions { ToolSearchPath = ToolSet.With("c++filt") });
        Assert.Equal("ui::Widget::grow(int)", Symbolize(withFilter, ModuleOf(binary), grow.Address + 2).Frames[0].Function);
    }

    [Fact]
    public void StrippedLibraryIsNamedFromDynsymAndSaysItHasNoDwarf()
    {
        var library = Native.Strip(Native.Compile("libshapes.c", "-O1 -g -shared -fPIC"));
        var exported = Native.NmFunctions(library, dynamic: true).Single(f => f.Name == "shapes_rectangle_area");
        var result = Symbolize(new Symbolizer(), ModuleOf(library), exported.Address + 1);
        Assert.Equal("shapes_rectangle_area", result.Frames[0].Function);
        Assert.Null(result.Frames[0].File);
        Assert.Contains("no DWARF", result.Frames[0].LineProblem);
    }

    [Fact]
    public void SeparateDebugFileIsFoundByBuildIdUnderADebugRoot()
    {
        var full = Native.Compile("libshapes.c", "-O1 -g -shared -fPIC");
        var stripped = Native.Strip(full);
        var id = Native.ReadelfBuildId(full)!;
        var root = Directory.CreateTempSubdirectory("foom-debugroot-");
        try
        {
            var debugFile = Path.Combine(root.FullName, ".build-id", id[..2], id[2..] + ".debug");
            Directory.CreateDirectory(Path.GetDirectoryName(debugFile)!);
            Native.Run("objcopy", $"--only-keep-debug \"{full}\" \"{debugFile}\"");

            var hidden = Native.NmFunctions(full).Single(f => f.Name == "shapes_private_area");
            var symbolizer = new Symbolizer(new SymbolizerOptions { DebugDirectories = [root.FullName] });
            var result = Symbolize(symbolizer, ModuleOf(stripped), hidden.Address + 1);
            Assert.Equal(debugFile, result.Modules[0].SymbolFile);
            Assert.Equal(debugFile, result.Modules[0].DebugFile);
            Assert.Equal("shapes_private_area", result.Frames[0].Function); // a static function: only the debug file's .symtab has it
            Assert.EndsWith("libshapes.c", result.Frames[0].File);
            Assert.InRange(result.Frames[0].Line!.Value, Native.MarkedLine("libshapes.c", "shapes_private_area"), Native.MarkedLine("libshapes.c", "shapes_private_area") + 2);

            // The same module with no debug root: only the exported names, and the reason for no lines.
            var plain = Symbolize(new Symbolizer(new SymbolizerOptions { DebugDirectories = [] }), ModuleOf(stripped), hidden.Address + 1);
            Assert.NotEqual("shapes_private_area", plain.Frames[0].Function);
            Assert.Contains("no DWARF", plain.Frames[0].LineProblem);
        }
        finally { root.Delete(recursive: true); }
    }

    [Fact]
    public void GnuDebugLinkBesideTheBinaryIsFollowedWhenItsBuildIdMatches()
    {
        var full = Native.Compile(Functions, "-O0 -g");
        var folder = Directory.CreateTempSubdirectory("foom-debuglink-");
        try
        {
            var debugFile = Path.Combine(folder.FullName, "functions.debug");
            var binary = Path.Combine(folder.FullName, "functions");
            Native.Run("objcopy", $"--only-keep-debug \"{full}\" \"{debugFile}\"");
            Native.Run("objcopy", $"--strip-all --add-gnu-debuglink=\"{debugFile}\" \"{full}\" \"{binary}\"");
            var helper = FunctionsOf(full)["static_helper"];
            var result = Symbolize(new Symbolizer(new SymbolizerOptions { DebugDirectories = [] }), ModuleOf(binary), helper.Address);
            Assert.Equal(debugFile, result.Modules[0].DebugFile);
            Assert.Equal("static_helper", result.Frames[0].Function);
            Assert.Equal(Native.MarkedLine(Functions, "static_helper"), result.Frames[0].Line);

            // A debug file from another build under that name is refused, and the result says so.
            Native.Run("objcopy", $"--only-keep-debug \"{Native.Compile(Functions, "-O2 -g")}\" \"{debugFile}\"");
            var refused = Symbolize(new Symbolizer(new SymbolizerOptions { DebugDirectories = [] }), ModuleOf(binary), helper.Address);
            Assert.Null(refused.Modules[0].DebugFile);
            Assert.Contains("belongs to another build", refused.Modules[0].Note);
        }
        finally { folder.Delete(recursive: true); }
    }

    [Fact]
    public void ARebuiltBinaryIsNotUsedAndTheReportGoesOnForOtherModules()
    {
        var folder = Directory.CreateTempSubdirectory("foom-rebuilt-");
        try
        {
            var original = Native.Compile(Functions, "-O1 -g");
            var path = Path.Combine(folder.FullName, "app");
            File.Copy(original, path);
            var recordedId = Native.ReadelfBuildId(original)!;
            File.Copy(Native.Compile(Functions, "-O2 -g"), path, overwrite: true); // rebuilt since the recording
            var library = Native.Compile("libshapes.c", "-O1 -g -shared -fPIC");
            var square = Native.NmFunctions(library).Single(f => f.Name == "shapes_square_area");
            var corrupt = Path.Combine(folder.FullName, "libcorrupt.so");
            File.WriteAllBytes(corrupt, File.ReadAllBytes(library).AsSpan(0, 300).ToArray());

            var result = new Symbolizer(new SymbolizerOptions { DebugDirectories = [] }).Symbolize(new SymbolizeRequest
            {
                Modules =
                [
                    new ModuleInfo(path, recordedId),
                    ModuleOf(library),
                    new ModuleInfo("/nonexistent/libgone.so", "00112233445566778899aabbccddeeff00112233"),
                    // Its own build-id: with the library's, the cached library would (rightly) name its frames.
                    new ModuleInfo(corrupt, "ffeeddccbbaa99887766554433221100ffeeddcc"),
                ],
                Frames = [new FrameRef(0, FunctionsOf(original)["main"].Address), new FrameRef(1, square.Address), new FrameRef(2, 0x1000), new FrameRef(3, 0x1000), new FrameRef(7, 0x10)],
            });

            Assert.Contains("rebuilt or upgraded", result.Modules[0].Problem);
            Assert.Contains(recordedId, result.Modules[0].Problem);
            Assert.Null(result.Frames[0].Function);
            Assert.Equal(result.Modules[0].Problem, result.Frames[0].Problem);

            Assert.Equal("shapes_square_area", result.Frames[1].Function);

            Assert.Contains("does not exist", result.Modules[2].Problem);
            Assert.Contains("no file for build-id", result.Modules[2].Problem);
            Assert.Null(result.Frames[2].Function);

            Assert.True(result.Modules[3].Problem?.StartsWith(corrupt) == true, result.Modules[3].Problem);
            Assert.Null(result.Frames[3].Function);

            Assert.Contains("module 7", result.Frames[4].Problem);
        }
        finally { folder.Delete(recursive: true); }
    }

    [Fact]
    public void ModuleWithoutARecordedBuildIdIsUsedButTheResultSaysItWasNotVerified()
    {
        var binary = Native.Compile(Functions, "-O1 -g");
        var result = Symbolize(new Symbolizer(), new ModuleInfo(binary, null), FunctionsOf(binary)["leaf_add"].Address);
        Assert.Equal("leaf_add", result.Frames[0].Function);
        Assert.Contains("without checking", result.Modules[0].Note);
    }

    [Fact]
    public void ReturnAddressesAreLookedUpOneByteBack()
    {
        var binary = Native.Compile(Functions, "-O1 -g");
        var leaf = FunctionsOf(binary)["leaf_add"];
        var result = new Symbolizer().Symbolize(new SymbolizeRequest
        {
            Modules = [ModuleOf(binary)],
            Frames = [new FrameRef(0, leaf.Address + 1, IsReturnAddress: true), new FrameRef(0, leaf.Address, IsReturnAddress: true), new FrameRef(0, leaf.Address)],
        });
        Assert.Equal("leaf_add", result.Frames[0].Function);
        Assert.Equal(1UL, result.Frames[0].SymbolOffset); // the offset is still the frame's own
        Assert.NotEqual("leaf_add", result.Frames[1].Symbol); // one byte back is before the function
        Assert.Equal("leaf_add", result.Frames[2].Function);
    }

    [Fact]
    public void PythonFramesOfTheHooksPythonCodeMapGetFunctionFileAndLine()
    {
        var folder = Directory.CreateTempSubdirectory("foom-python-");
        try
        {
            // As native/foomhook/python.c writes it: code object 3's instructions by line, one
            // range without a line, a file name with a space; and 3.12's own -X perf name.
            var map = Path.Combine(folder.FullName, "perf-python-4242.map");
            File.WriteAllText(map, "800000300000 2 py::Cache.fill /srv/my app/cache.py:40\n800000300002 1c py::Cache.fill /srv/my app/cache.py:41\n" +
                                   "80000030001e 4 py::Cache.fill /srv/my app/cache.py\n7f00aa000100 40 py::handler:/srv/app.py\n");
            var result = new Symbolizer().Symbolize(new SymbolizeRequest
            {
                Modules = [],
                // The hook's pseudo pcs are one past the instruction, read as return addresses.
                Frames = [FrameRef.Pc(0x800000300001, isReturnAddress: true), FrameRef.Pc(0x800000300003, isReturnAddress: true),
                          FrameRef.Pc(0x80000030001f, isReturnAddress: true), FrameRef.Pc(0x7f00aa000120)],
                PerfMaps = [map],
            });
            Assert.Equal(("py::Cache.fill", "/srv/my app/cache.py", (int?)40), (result.Frames[0].Function, result.Frames[0].File, result.Frames[0].Line));
            Assert.Equal(41, result.Frames[1].Line);
            Assert.Equal(("/srv/my app/cache.py", (int?)null), (result.Frames[2].File, result.Frames[2].Line));
            Assert.Equal("Python gives this instruction no line", result.Frames[2].LineProblem);
            Assert.Equal(("py::handler:/srv/app.py", (string?)null), (result.Frames[3].Function, result.Frames[3].File));
            Assert.Empty(result.PerfMapProblems);
        }
        finally { folder.Delete(recursive: true); }
    }

    [Fact]
    public void RawPcsArePlacedInModulesByRangeAndJitCodeIsNamedFromPerfMaps()
    {
        var binary = Native.Compile(Functions, "-O1 -g -fPIE -pie");
        var make = FunctionsOf(binary)["make_buffer"];
        const ulong loadBias = 0x5555_5555_0000;
        var folder = Directory.CreateTempSubdirectory("foom-jit-");
        try
        {
            var perfMap = Path.Combine(folder.FullName, "perf-4242.map");
            File.WriteAllText(perfMap, "7f00aa000000 80 [Tier1] void Demo.Worker::Run()\nnot a line\n7f00aa000100 40 py::handler:/srv/app.py\n");
            var result = new Symbolizer().Symbolize(new SymbolizeRequest
            {
                Modules = [new ModuleInfo(binary, Native.ReadelfBuildId(binary), Base: loadBias, Start: loadBias, Size: 0x10000)],
                Frames = [FrameRef.Pc(loadBias + make.Address + 3), FrameRef.Pc(0x7f00aa000010), FrameRef.Pc(0x7f00aa000120), FrameRef.Pc(0x7f00bb000000)],
                PerfMaps = [perfMap, Path.Combine(folder.FullName, "perf-missing.map")],
            });
            Assert.Equal("make_buffer", result.Frames[0].Function);
            Assert.Equal(3UL, result.Frames[0].SymbolOffset);
            Assert.Equal("[Tier1] void Demo.Worker::Run()", result.Frames[1].Function);
            Assert.Equal(0x10UL, result.Frames[1].SymbolOffset);
            Assert.Equal("py::handler:/srv/app.py", result.Frames[2].Function);
            Assert.Null(result.Frames[3].Function);
            Assert.Contains("in no perf map", result.Frames[3].Problem);
            Assert.Contains(result.PerfMapProblems, p => p.Contains("line 2"));
            Assert.Contains(result.PerfMapProblems, p => p.Contains("perf-missing.map") && p.Contains("does not exist"));
        }
        finally { folder.Delete(recursive: true); }
    }

    [Fact]
    public void ModulesAndTheirLinesAreCachedByBuildIdAcrossReports()
    {
        var binary = Native.Compile(Functions, "-O1 -g");
        var functions = FunctionsOf(binary);
        var symbolizer = new Symbolizer();
        var first = Symbolize(symbolizer, ModuleOf(binary), functions["main"].Address, functions["leaf_add"].Address);
        Assert.Equal(1, symbolizer.LineBatches);
        // Same build-id, another path (the server sees the same library in many reports): no new tool run.
        var second = Symbolize(symbolizer, ModuleOf(binary) with { Path = "/elsewhere/functions" }, functions["main"].Address);
        Assert.Equal(1, symbolizer.LineBatches);
        Assert.Equal(first.Frames[0].Line, second.Frames[0].Line);
        Assert.Equal("main", second.Frames[0].Function);
        // A new address is resolved in one more batch.
        Symbolize(symbolizer, ModuleOf(binary), functions["make_buffer"].Address);
        Assert.Equal(2, symbolizer.LineBatches);
    }

    [Fact]
    public async Task AToolThatHangsIsStoppedAndTheFramesKeepTheirNames()
    {
        var folder = Directory.CreateTempSubdirectory("foom-hang-");
        try
        {
            // A stand-in llvm-symbolizer that answers --help and then never answers.
            var fake = Path.Combine(folder.FullName, "llvm-symbolizer");
            File.WriteAllText(fake, "#!/bin/sh\nif [ \"$1\" = --help ]; then echo 'JSON'; exit 0; fi\nexec sleep 600\n");
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var binary = Native.Compile(Functions, "-O1 -g");
            var symbolizer = new Symbolizer(new SymbolizerOptions { ToolSearchPath = folder.FullName, ToolTimeout = TimeSpan.FromSeconds(2) });
            var result = await symbolizer.SymbolizeAsync(new SymbolizeRequest
            {
                Modules = [ModuleOf(binary)],
                Frames = [new FrameRef(0, FunctionsOf(binary)["main"].Address)],
            }, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);
            Assert.Equal("main", result.Frames[0].Function);
            Assert.Contains("did not finish within 2 s", result.Frames[0].LineProblem);
            Assert.Contains("did not finish", result.Modules[0].LineProblem);
        }
        finally { folder.Delete(recursive: true); }
    }
}
