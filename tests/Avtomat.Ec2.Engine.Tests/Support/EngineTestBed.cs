using Microsoft.Extensions.Time.Testing;

namespace Avtomat.Ec2.Engine.Tests.Support;

/// <summary>What the virtual-time engine tests start from: the in-memory EC2 on a fake clock, clients for it, and an
/// engine of the test's own (so no shared process-wide state leaks between tests).</summary>
public abstract class EngineTestBed
{
    protected const string East = "us-east-1";
    protected const string West = "us-west-2";

    protected readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero));
    protected readonly FakeEc2 _ec2;
    protected readonly FakeClientSource _clients;
    protected readonly SnapshotEngine _engine;

    protected EngineTestBed()
    {
        _ec2 = new FakeEc2(_clock);
        _clients = new FakeClientSource(_ec2);
        _engine = new SnapshotEngine(_clock);
    }
}
