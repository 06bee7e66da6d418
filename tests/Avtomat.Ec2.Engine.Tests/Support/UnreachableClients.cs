using System.Net.Http;
using System.Net.Sockets;
using System.Reflection;
using Amazon.EC2;
using Amazon.Runtime;

namespace Avtomat.Ec2.Engine.Tests.Support;

/// <summary>
/// Clients whose calls fail before they reach EC2 where <see cref="Refuse"/> says so — the way the SDK fails when no
/// connection can be made (connection refused, host name not found): an <see cref="AmazonServiceException"/> over the
/// <see cref="HttpRequestException"/> over the <see cref="SocketException"/>. Every other call goes to
/// <paramref name="inner"/> (the emulator). The emulator's interceptor cannot do this: it can only drop a connection
/// once made (an I/O error), never refuse one.
/// </summary>
public sealed class UnreachableClients(IEc2ClientSource inner, TimeProvider clock) : IEc2ClientSource
{
    private readonly object _gate = new();
    private readonly List<RefusedCall> _refused = new();

    /// <summary>(action, region) → the failure of a call that could not connect, or null to let it through.</summary>
    public Func<string, string, Exception?> Refuse { get; set; } = (_, _) => null;

    public string Account => inner.Account;

    public IAmazonEC2 For(string region) => RefusingProxy.Wrap(inner.For(region), region, this);

    public IAmazonEC2 ForCopy(string region) => RefusingProxy.Wrap(inner.ForCopy(region), region, this);

    /// <summary>region → where its calls are said to go instead of <paramref name="inner"/>'s (the emulator's URL, as
    /// with -EndpointUrl): e.g. AWS's own endpoint, for a test of a region without -EndpointUrl. Null: inner's.</summary>
    public Func<string, string>? Endpoint { get; set; }

    public string EndpointKey(string region) => Endpoint?.Invoke(region) ?? inner.EndpointKey(region);

    /// <summary>The calls refused so far, in order (the engine's clock when each was made).</summary>
    public IReadOnlyList<RefusedCall> Refused
    {
        get { lock (_gate) return _refused.ToList(); }
    }

    /// <summary>What the SDK throws when the connection is refused (nothing listens at the endpoint).</summary>
    public static Exception ConnectionRefused(string endpoint = "127.0.0.1:1") =>
        new AmazonServiceException($"Connection refused ({endpoint})",
            new HttpRequestException($"Connection refused ({endpoint})", new SocketException((int)SocketError.ConnectionRefused)));

    /// <summary>What the SDK throws when the endpoint's host name does not resolve.</summary>
    public static Exception HostNotFound(string host) =>
        new AmazonServiceException($"Name or service not known ({host}:443)",
            new HttpRequestException($"Name or service not known ({host}:443)", new SocketException((int)SocketError.HostNotFound)));

    internal Exception? Decide(string action, string region)
    {
        var failure = Refuse(action, region);
        if (failure is not null)
            lock (_gate) _refused.Add(new RefusedCall(action, region, clock.GetUtcNow()));
        return failure;
    }

    public sealed record RefusedCall(string Action, string Region, DateTimeOffset At);
}

/// <summary>An <see cref="IAmazonEC2"/> whose <c>…Async</c> calls fail at once when the client source refuses them.</summary>
public class RefusingProxy : DispatchProxy
{
    private IAmazonEC2 _target = null!;
    private string _region = "";
    private UnreachableClients _owner = null!;

    internal static IAmazonEC2 Wrap(IAmazonEC2 target, string region, UnreachableClients owner)
    {
        var proxy = Create<IAmazonEC2, RefusingProxy>();
        var self = (RefusingProxy)(object)proxy;
        self._target = target;
        self._region = region;
        self._owner = owner;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? method, object?[]? args)
    {
        if (method!.Name.EndsWith("Async", StringComparison.Ordinal) && method.ReturnType.IsGenericType
            && method.ReturnType.GetGenericTypeDefinition() == typeof(Task<>)
            && _owner.Decide(method.Name[..^"Async".Length], _region) is { } failure)
        {
            var fromException = typeof(Task).GetMethods(BindingFlags.Public | BindingFlags.Static)
                .Single(m => m.Name == nameof(Task.FromException) && m.IsGenericMethodDefinition)
                .MakeGenericMethod(method.ReturnType.GetGenericArguments()[0]);
            return fromException.Invoke(null, [failure]);
        }
        try
        {
            return method.Invoke(_target, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }
}
