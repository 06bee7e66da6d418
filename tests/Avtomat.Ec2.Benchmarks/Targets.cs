namespace Avtomat.Ec2.Benchmarks;

/// <summary>The targets of issue 10, checked per row where they apply.</summary>
public static class Targets
{
    public const double ImportMs = 200;

    public static List<TargetCheck> For(RunResult r)
    {
        var checks = new List<TargetCheck>();
        double? ratioLimit = r.Scenario switch
        {
            "one-region" => r.N <= 100 ? 1.03 : 1.01, // 1.03 at N=100, 1.01 at N=1000 (and beyond)
            "create-then-copy" => 1.05,
            "outside-copies" => 1.10,
            _ => null, // three regions: no target set
        };
        if (ratioLimit is { } limit)
            checks.Add(new("makespan/LB", $"<= {limit:0.00}", r.MakespanOverLowerBound, r.MakespanOverLowerBound <= limit));
        if (r.N == 1000)
            checks.Add(new("calls/copy", "<= 1.3", r.CallsPerSnapshotMade, r.CallsPerSnapshotMade <= 1.3));
        checks.Add(new("throttles", "0", r.Throttles, r.Throttles == 0));
        // While copies wait in the queue (the tail's lag is reported apart, without a target). NaN: no completion noticed
        // in a queued phase (N=20: every copy starts at once; the peer noticing none).
        if (!double.IsNaN(r.QueuedLagP50PercentOfMedianCopy))
            checks.Add(new("lag p50 queued", "<= 1%", r.QueuedLagP50PercentOfMedianCopy, r.QueuedLagP50PercentOfMedianCopy <= 1.0));
        if (r.Strategy == "engine" && r.N >= 10000)
        {
            checks.Add(new("CPU/snapshot", "<= 0.5 ms", r.CpuMsPerTracked, r.CpuMsPerTracked <= 0.5));
            checks.Add(new("memory/snapshot", "<= 8 KB", r.BytesPerTracked / 1024, r.BytesPerTracked <= 8 * 1024));
        }
        return checks;
    }
}
