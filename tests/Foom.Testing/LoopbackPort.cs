using System.Net;
using System.Net.Sockets;

namespace Foom.Testing;

/// <summary>A TCP port on 127.0.0.1 that nothing listens on, for a server a test starts (or expects to find down).</summary>
public static class LoopbackPort
{
    /// <summary>A port the kernel just handed out and took back: free now, though another process may take it before the test does.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
