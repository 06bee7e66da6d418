using Avtomat.Ec2.Probes;

// dotnet run -c Release --project tests/Avtomat.Ec2.Probes -- <probe> [options]   (README.md here lists them)
var probes = new Dictionary<string, Func<string[], Task<int>>>(StringComparer.OrdinalIgnoreCase)
{
    ["two-runs"] = TwoRunsProbe.RunAsync,
    ["hang"] = HangProbe.RunAsync,
    ["old-snapshot"] = OldSnapshotProbe.RunAsync,
    ["long-lived"] = LongLivedProbe.RunAsync,
    ["finished-jobs"] = FinishedJobsProbe.RunAsync,
    ["makespan"] = MakespanProbe.RunAsync,
};

if (args.Length == 0 || !probes.TryGetValue(args[0], out var probe))
{
    Console.Error.WriteLine("Usage: dotnet run -c Release --project tests/Avtomat.Ec2.Probes -- <probe> [options]");
    Console.Error.WriteLine("Probes: " + string.Join(", ", probes.Keys) + " (options: tests/Avtomat.Ec2.Probes/README.md)");
    return 2;
}
if (args[0] is not "finished-jobs" && !File.Exists(Paths.Manifest))
{
    Console.Error.WriteLine($"The module is not built ({Paths.Manifest}): dotnet tool restore; dotnet tool run pwsh -- -File build.ps1");
    return 2;
}
return await probe(args.Skip(1).ToArray());
