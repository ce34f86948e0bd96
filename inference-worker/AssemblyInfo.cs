using System.Runtime.CompilerServices;

// The batching core (MicroBatcher) is tested with a fake model function.
[assembly: InternalsVisibleTo("Gateway.Tests")]
