using InferenceGateway.Gateway;
using InferenceGateway.Gateway.Auth;

if (args is ["keys", ..])
{
    return await KeysCli.RunAsync(args);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddGateway();

var app = builder.Build();
app.MapGateway();
await app.RunAsync();
return 0;

/// <summary>Entry point, visible to the test host.</summary>
public partial class Program;
