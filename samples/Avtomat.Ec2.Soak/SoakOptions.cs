using System.Globalization;

namespace Avtomat.Ec2.Soak;

/// <summary>Inputs of one soak: what to copy, the faults, and the stop/re-run.</summary>
public sealed class SoakOptions
{
    public const string Usage = """
        Avtomat.Ec2.Soak - the copy engine under faults against the in-process EC2 emulator (127.0.0.1 only).

        Usage: dotnet run --project samples/Avtomat.Ec2.Soak -c Release -- [options]

          --count N               source snapshots in the source region (default 1000); 2 destinations => 2N copies
          --destinations a,b      destination regions (default us-west-2,eu-west-1)
          --source-region R       source region (default us-east-1)
          --seed S                emulator random seed (durations, faults) (default 20261123)
          --no-stop               one run to the end instead of stop at --stop-at and re-run
          --no-baseline           skip the fault-free run (no wall-time ratio)
          --stop-at F             stop run 1 when this share of copies has finished (default 0.3)
          --rerun-delay S         seconds between the end of run 1 and the start of run 2 (default 0)
          --throttle F            RequestLimitExceeded rate (default 0.20)
          --internal-error F      500 InternalError rate (default 0.025)
          --unavailable F         503 Unavailable rate (default 0.025)
          --drop-before F         connection dropped before the action (default 0.02)
          --drop-after F          connection dropped after the action (default 0.02)
          --copy-error F          copies ending in error (default 0.02)
          --invisible-rate F      new snapshots invisible to DescribeSnapshots (default 1.0)
          --invisible-seconds S   ... for this long (default 3)
          --outside-copies N      pending copies per destination started outside the engine (default 5 of 20)
          --copy-seconds S        fixed copy duration (default 1.5; cross-region factor 1)
          --poll S                engine PollInterval (default 0.5)
          --grace S               engine VisibilityGrace (default 5)
          --limit-minutes M       safety limit per run: the run is stopped after this (default 30)
          --no-faults             all fault rates 0 and no outside copies
          --quiet                 no progress lines on stderr

        Exit code: 0 when every input is accounted for exactly once in run 2 (completed, reused or failed with a
        reason), no source has two copies in EC2 and nothing is lost; 1 otherwise; 2 for bad arguments.
        """;

    public int Count { get; set; } = 1000;
    public List<string> Destinations { get; set; } = ["us-west-2", "eu-west-1"];
    public string SourceRegion { get; set; } = "us-east-1";
    public int Seed { get; set; } = 20261123;
    public bool NoStop { get; set; }
    public bool NoBaseline { get; set; }
    public double StopAt { get; set; } = 0.30;
    /// <summary>Pause between run 1 ending and run 2 starting (0: at once, the harshest case for eventual consistency).</summary>
    public TimeSpan RerunDelay { get; set; }

    public double ThrottleRate { get; set; } = 0.20;
    public double InternalErrorRate { get; set; } = 0.025;
    public double UnavailableRate { get; set; } = 0.025;
    public double DropBeforeRate { get; set; } = 0.02;
    public double DropAfterRate { get; set; } = 0.02;
    public double CopyErrorRate { get; set; } = 0.02;
    public double InvisibleRate { get; set; } = 1.0;
    public double InvisibleSeconds { get; set; } = 3;
    /// <summary>Copies per destination started before the runs, outside the engine, that stay pending throughout.</summary>
    public int OutsideCopies { get; set; } = 5;

    public double CopySeconds { get; set; } = 1.5;
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(0.5);
    public TimeSpan VisibilityGrace { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Safety limit per run (the soak always ends by itself).</summary>
    public TimeSpan RunLimit { get; set; } = TimeSpan.FromMinutes(30);
    public bool Quiet { get; set; }

    public int Inputs => Count * Destinations.Count;

    public SoakOptions WithoutFaults()
    {
        ThrottleRate = InternalErrorRate = UnavailableRate = DropBeforeRate = DropAfterRate = CopyErrorRate = InvisibleRate = 0;
        OutsideCopies = 0;
        return this;
    }

    /// <summary>Parses the command line; throws <see cref="ArgumentException"/> with a readable message.</summary>
    public static SoakOptions Parse(IReadOnlyList<string> args)
    {
        var o = new SoakOptions();
        var noFaults = false;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            double Rate() => Check(Number(Value()), 0, 1);
            double Number(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                ? d : throw new ArgumentException($"{name}: '{s}' is not a number.");
            int Integer(int min) => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min
                ? n : throw new ArgumentException($"{name} needs an integer >= {min}.");
            double Check(double d, double min, double max) => d >= min && d <= max
                ? d : throw new ArgumentException($"{name} must be within [{min}, {max}].");
            switch (name)
            {
                case "--count": o.Count = Integer(1); break;
                case "--destinations":
                    o.Destinations = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
                    if (o.Destinations.Count == 0) throw new ArgumentException("--destinations needs at least one region.");
                    break;
                case "--source-region": o.SourceRegion = Value(); break;
                case "--seed": o.Seed = Integer(int.MinValue); break;
                case "--no-stop": o.NoStop = true; break;
                case "--no-baseline": o.NoBaseline = true; break;
                case "--stop-at": o.StopAt = Check(Number(Value()), 0.01, 0.99); break;
                case "--rerun-delay": o.RerunDelay = TimeSpan.FromSeconds(Check(Number(Value()), 0, 3600)); break;
                case "--throttle": o.ThrottleRate = Rate(); break;
                case "--internal-error": o.InternalErrorRate = Rate(); break;
                case "--unavailable": o.UnavailableRate = Rate(); break;
                case "--drop-before": o.DropBeforeRate = Rate(); break;
                case "--drop-after": o.DropAfterRate = Rate(); break;
                case "--copy-error": o.CopyErrorRate = Rate(); break;
                case "--invisible-rate": o.InvisibleRate = Rate(); break;
                case "--invisible-seconds": o.InvisibleSeconds = Check(Number(Value()), 0, 600); break;
                case "--outside-copies": o.OutsideCopies = Integer(0); break;
                case "--copy-seconds": o.CopySeconds = Check(Number(Value()), 0, 3600); break;
                case "--poll": o.PollInterval = TimeSpan.FromSeconds(Check(Number(Value()), 0.01, 60)); break;
                case "--grace": o.VisibilityGrace = TimeSpan.FromSeconds(Check(Number(Value()), 0, 600)); break;
                case "--limit-minutes": o.RunLimit = TimeSpan.FromMinutes(Check(Number(Value()), 0.1, 24 * 60)); break;
                case "--no-faults": noFaults = true; break;
                case "--quiet": o.Quiet = true; break;
                case "-h" or "--help" or "-?": throw new ArgumentException("");
                default: throw new ArgumentException($"Unknown option '{name}'.");
            }
        }
        if (o.Destinations.Contains(o.SourceRegion, StringComparer.Ordinal))
            throw new ArgumentException("A destination must differ from the source region.");
        if (o.OutsideCopies >= 20) throw new ArgumentException("--outside-copies must leave slots free (< 20).");
        return noFaults ? o.WithoutFaults() : o;
    }
}
