using InferenceGateway.Worker;

var builder = Host.CreateApplicationBuilder(args);
builder.AddInferenceWorker();
await builder.Build().RunAsync();
