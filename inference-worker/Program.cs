using InferenceGateway.Tools.TinyModels;
using InferenceGateway.Worker;
using Microsoft.Extensions.Options;

// `write-tiny-model <dir>`: writes the tiny random text-generation model (tiny-llm) and exits.
if (args is ["write-tiny-model", var directory])
{
    TinyModelWriter.Write(directory);
    Console.WriteLine($"tiny-llm written to {Path.GetFullPath(directory)}");
    return 0;
}

var builder = Host.CreateApplicationBuilder(args);
builder.AddInferenceWorker();
try
{
    await builder.Build().RunAsync();
    return 0;
}
catch (Exception ex) when (ex is InvalidOperationException or OptionsValidationException)
{
    // A refused start (no usable GPU for Inference:ExecutionProvider=cuda, invalid settings): the
    // host has logged it; say it once more where an operator looks first and exit with 1, not a crash.
    await Console.Error.WriteLineAsync($"inference worker: not started: {ex.Message}");
    return 1;
}
