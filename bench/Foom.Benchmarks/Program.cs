using BenchmarkDotNet.Running;
using Foom.Benchmarks;

// `sizes` prints the storage engine's space figures (bytes per live allocation, per stack node,
// nodes per new stack); anything else goes to BenchmarkDotNet.
if (args is ["sizes"])
{
    SpaceReport.Print();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
