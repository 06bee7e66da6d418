using Amazon.EC2;
using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.Benchmarks;

/// <summary>One strategy's run of one workload: the emulator, the clock, the clients, and what the strategy noticed.</summary>
public sealed class RunContext
{
    public required Workload Workload { get; init; }
    public required VirtualClock Clock { get; init; }
    public required VirtualTimeDriver Driver { get; init; }
    public required Ec2Emulator Emulator { get; init; }
    public required InProcessClients Clients { get; init; }
    public required Ledger Ledger { get; init; }
    /// <summary>Copy scenarios: the source snapshot of each index.</summary>
    public IReadOnlyList<string> SourceIds { get; init; } = [];
    /// <summary>Create-then-copy: the volume of each index.</summary>
    public IReadOnlyList<string> VolumeIds { get; init; } = [];
    /// <summary>Virtual time the strategy got its input.</summary>
    public required DateTimeOffset Start { get; init; }
    /// <summary>Longest virtual time a run may take before it is called stuck.</summary>
    public TimeSpan MaxVirtual { get; init; } = TimeSpan.FromDays(200);

    /// <summary>[source][destination]: when the strategy first knew the copy had completed.</summary>
    public DateTimeOffset?[][] Noticed { get; private set; } = [];
    public List<string> Problems { get; } = new();
    /// <summary>Virtual instants a strategy's own driver moved the clock to (when it does not use <see cref="Driver"/>).</summary>
    public long? Steps { get; set; }

    public void Initialize() => Noticed = Workload.CopySeconds.Select(c => new DateTimeOffset?[c.Length]).ToArray();

    public void Notice(int source, int destination)
    {
        if (source < 0 || destination < 0) { Problem("a completion the run cannot place"); return; }
        lock (Noticed) Noticed[source][destination] ??= Clock.GetUtcNow();
    }

    public void Problem(string text)
    {
        lock (Problems) if (Problems.Count < 20 && !Problems.Contains(text)) Problems.Add(text);
    }

    public static bool IsCode(Exception e, string code) => e is AmazonEC2Exception ec2 && ec2.ErrorCode == code;
}

/// <summary>A way to copy (and create) the workload's snapshots. Runs on the driver's thread and returns when the
/// strategy itself is done (which for the peer's loop is before its last copies complete).</summary>
public interface IStrategy
{
    string Name { get; }
    void Run(RunContext context);
}
