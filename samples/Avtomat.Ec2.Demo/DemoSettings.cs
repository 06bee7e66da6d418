namespace Avtomat.Ec2.Demo;

/// <summary>Command-line flags of the demo.</summary>
internal sealed record DemoSettings(int Count, bool Quick, bool NoProgress, bool Verbose)
{
    public const string Usage = """
        Usage: dotnet run --project samples/Avtomat.Ec2.Demo [-- options]
          --count N       snapshots to copy (default 200; 40 with --quick)
          --quick         fewer snapshots and shorter copies: a smoke test of a few seconds
          --no-progress   no progress bars or progress lines
          --verbose       print every verbose message of Copy-AvSnapshot
        """;

    public static DemoSettings? Parse(string[] args)
    {
        int? count = null;
        bool quick = false, noProgress = false, verbose = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--count" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n is > 0 and <= 5000:
                    count = n;
                    i++;
                    break;
                case "--quick": quick = true; break;
                case "--no-progress": noProgress = true; break;
                case "--verbose": verbose = true; break;
                case "-h" or "--help" or "-?":
                    Console.WriteLine(Usage);
                    return null;
                default:
                    Console.Error.WriteLine($"demo: unknown or invalid argument '{args[i]}'.");
                    Console.Error.WriteLine(Usage);
                    return null;
            }
        }
        return new DemoSettings(count ?? (quick ? 40 : 200), quick, noProgress, verbose);
    }

    /// <summary>A realistic fleet: many small root volumes, fewer large data volumes (8–500 GiB), in a repeatable order.</summary>
    public static List<int> VolumeSizes(int count, int seed)
    {
        (int SizeGiB, int Weight)[] mix =
            [(8, 25), (16, 10), (30, 15), (50, 15), (100, 15), (200, 10), (256, 5), (500, 5)];
        var total = mix.Sum(m => m.Weight);
        var random = new Random(seed);
        var sizes = new List<int>(count);
        for (var i = 0; i < count; i++)
        {
            var pick = random.Next(total);
            foreach (var (size, weight) in mix)
            {
                if ((pick -= weight) < 0) { sizes.Add(size); break; }
            }
        }
        return sizes;
    }
}
