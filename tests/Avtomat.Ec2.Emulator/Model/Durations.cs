namespace Avtomat.Ec2.Emulator.Model;

/// <summary>Samples durations and coarse progress steps with the emulator's seeded Random.</summary>
internal static class Durations
{
    public static double Sample(DurationModel model, Random random, int sizeGiB)
    {
        var seconds = model.Kind switch
        {
            DurationKind.Fixed => model.Seconds,
            DurationKind.Uniform => model.MinSeconds + random.NextDouble() * Math.Max(0, model.MaxSeconds - model.MinSeconds),
            DurationKind.LogNormal => model.Seconds * Math.Exp(model.Sigma * StandardNormal(random)),
            _ => model.Seconds,
        };
        if (model.ReferenceSizeGiB is > 0)
            seconds *= sizeGiB / model.ReferenceSizeGiB.Value;
        return Math.Max(0, seconds);
    }

    private static double StandardNormal(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Real EBS progress sits at 0% for a while, then jumps unevenly and never shows 100% while pending.</summary>
    public static IReadOnlyList<(double AtSeconds, int Percent)> ProgressSteps(double durationSeconds, Random random)
    {
        if (durationSeconds <= 0) return [];
        var idle = 0.1 + random.NextDouble() * 0.4; // share of the duration spent at 0%
        var count = 2 + random.Next(4);
        var times = Enumerable.Range(0, count).Select(_ => idle + random.NextDouble() * (1 - idle)).Order().ToArray();
        var percents = Enumerable.Range(0, count).Select(_ => 1 + random.Next(99)).Order().ToArray();
        var steps = new List<(double, int)>();
        for (var i = 0; i < count; i++)
            if (steps.Count == 0 || percents[i] > steps[^1].Item2)
                steps.Add((times[i] * durationSeconds, percents[i]));
        return steps;
    }
}
