using BenchmarkDotNet.Running;
using Foom.Benchmarks;

// `sizes` prints the storage engine's space figures (bytes per live allocation, per stack node,
// nodes per new stack); anything else goes to BenchmarkDotNet.
if (args is ["sizes"])
{
    SpaceReport.Print();
    return;
}
// `cpu` prints the engine's throughput per second of CPU time, the figure the targets are about.
if (args is ["cpu"])
{
    CpuThroughput.Print();
    return;
}
// `census [MB] [TEXT-CHARS] [RUNS]` measures what a managed heap census costs a .NET program.
if (args is ["census", ..])
{
    CensusCost.Print(args);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
