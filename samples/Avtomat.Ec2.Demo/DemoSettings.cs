namespace Avtomat.Ec2.Demo;

/// <summary>Which scenes to run.</summary>
[Flags]
internal enum DemoScenes
{
    /// <summary>Scene 1: Copy-AvSnapshot on ~200 existing snapshots, us-east-1 → us-west-2.</summary>
    Copy = 1,
    /// <summary>Scene 2: the one-line backup, Get-EC2Volume | New-AvSnapshot | Copy-AvSnapshot to two regions.</summary>
    Backup = 2,
    All = Copy | Backup,
}

/// <summary>Command-line flags of the demo.</summary>
internal sealed record DemoSettings(int Count, int Volumes, DemoScenes Scenes, bool Quick, bool NoProgress, bool Verbose)
{
    public const string Usage = """
        Usage: dotnet run --project samples/Avtomat.Ec2.Demo [-- options]
          --scene S       copy (scene 1), backup (scene 2) or all (default)
          --count N       scene 1: snapshots to copy (default 200; 40 with --quick)
          --volumes N     scene 2: volumes to back up (default 60; 16 with --quick)
          --quick         fewer snapshots and volumes, shorter durations: a smoke test of about 20 s
          --no-progress   no progress bars or progress lines
          --verbose       print every verbose message of the cmdlets
        """;

    public static DemoSettings? Parse(string[] args)
    {
        int? count = null, volumes = null;
        var scenes = DemoScenes.All;
        bool quick = false, noProgress = false, verbose = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--count" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n is > 0 and <= 5000:
                    count = n;
                    i++;
                    break;
                case "--volumes" when i + 1 < args.Length && int.TryParse(args[i + 1], out var v) && v is > 0 and <= 2000:
                    volumes = v;
                    i++;
                    break;
                case "--scene" when i + 1 < args.Length && args[i + 1] is "copy" or "backup" or "all":
                    scenes = args[i + 1] switch { "copy" => DemoScenes.Copy, "backup" => DemoScenes.Backup, _ => DemoScenes.All };
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
        return new DemoSettings(count ?? (quick ? 40 : 200), volumes ?? (quick ? 16 : 60), scenes, quick, noProgress, verbose);
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
