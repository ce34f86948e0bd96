using System.Net;
using System.Net.Sockets;

namespace InferenceGateway.Tests.Delivery;

/// <summary>
/// A TCP endpoint on loopback that accepts connections and never answers: an SQS endpoint a request
/// hangs in, as one does when the gateway's machine is about to die. Connections are held until
/// disposed.
/// </summary>
public sealed class SilentEndpoint : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<Socket> _held = [];
    private readonly Task _accepting;

    public SilentEndpoint()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _accepting.WaitAsync(TimeSpan.FromSeconds(10));
        lock (_held)
        {
            foreach (var socket in _held)
            {
                socket.Dispose();
            }
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync();
                lock (_held)
                {
                    _held.Add(socket);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }
}
