using BenchmarkDotNet.Running;
using InferenceGateway.Bench;

return args switch
{
    ["coldstart", .. var rest] => await ColdStartRunner.RunAsync(rest),
    ["coldstart-child", .. var rest] => await ColdStartRunner.ChildAsync(rest),
    _ => Run(args),
};

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(EmbeddingBenchmarks).Assembly).Run(args);
    return 0;
}
