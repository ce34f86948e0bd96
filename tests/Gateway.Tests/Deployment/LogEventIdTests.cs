using System.Reflection;
using InferenceGateway.Core.Queue;
using InferenceGateway.Gateway;
using InferenceGateway.Inference.Embeddings;
using InferenceGateway.Worker;
using Microsoft.Extensions.Logging;

namespace InferenceGateway.Tests.Deployment;

/// <summary>
/// Log event ids are unique across the four assemblies that share a process (the gateway runs
/// gateway, core and inference; the worker runs worker, core and inference), and each assembly keeps
/// to its own range of its <c>EventIds</c> table, so a log query by id finds one kind of event.
/// </summary>
[TestFixture]
public sealed class LogEventIdTests
{
    private static readonly (Assembly Assembly, int From)[] Assemblies =
    [
        (typeof(QueueWarmup).Assembly, 1000),
        (typeof(MiniLmEmbedder).Assembly, 2000),
        (typeof(GatewayExtensions).Assembly, 3000),
        (typeof(WorkerHostBuilderExtensions).Assembly, 4000),
    ];

    [Test]
    public void EveryLogEvent_HasAnIdOfItsOwn_InItsAssemblysRange()
    {
        var events = Assemblies
            .SelectMany(a => LogMethods(a.Assembly).Select(m => (a.From, Method: $"{m.DeclaringType!.FullName}.{m.Name}", m.GetCustomAttribute<LoggerMessageAttribute>()!.EventId)))
            .ToList();

        Assert.That(events, Has.Count.GreaterThan(60), "the source-generated log methods of all four assemblies were found");
        Assert.Multiple(() =>
        {
            foreach (var group in events.GroupBy(e => e.EventId).Where(g => g.Count() > 1))
            {
                Assert.Fail($"event id {group.Key} is used by {string.Join(", ", group.Select(e => e.Method))}");
            }

            foreach (var e in events.Where(e => e.EventId < e.From || e.EventId >= e.From + 1000))
            {
                Assert.Fail($"{e.Method} has event id {e.EventId}, outside its assembly's range {e.From}-{e.From + 999}");
            }
        });
    }

    private static IEnumerable<MethodInfo> LogMethods(Assembly assembly) =>
        assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<LoggerMessageAttribute>() is not null);
}
