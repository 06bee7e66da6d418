using System.Globalization;

namespace Avtomat.Ec2.Benchmarks;

public sealed class BenchOptions
{
    public const string Usage = """
        Avtomat.Ec2.Benchmarks - the engine, a fixed-batch baseline and the peer's window, side by side on the same copy
        durations, against the in-process EC2 emulator with EC2's limits, in virtual time.

        Usage: dotnet run -c Release --project tests/Avtomat.Ec2.Benchmarks -- [options]

          --n LIST            numbers of sources, comma-separated (default 100,1000,10000)
          --scenario LIST     one-region, three-regions, create-then-copy, outside-copies, or all (default all)
          --strategies LIST   engine, fixed-batch, peer, or all (default all)
          --seed S            seed of the sizes and durations (default 20261123); the same for every strategy
          --seeds LIST        several seeds, comma-separated: every scenario and N is run with each (seed by seed), and
                              the table gets a Seed column
          --json PATH         where to write the results (default artifacts/benchmarks/results.json)
          --quick             N=100 only, no import timing (about a minute)
          --no-import         skip the Import-Module timing (10 fresh pwsh processes)
          --no-warmup         skip the discarded warm-up runs (JIT) before the measured ones
          --help              this text

        Prints a markdown table (one row per seed, N, scenario and strategy; a Seed column when more than one seed) to
        stdout, progress to stderr. Detection lag is shown for the queued phase (completions while some copy to the same
        destination had not been started by EC2: the target) and the tail apart; Retained/snap is the engine's heap at its
        peak. Exit code 0 when every run made every copy exactly once and saw it completed (targets not met do not change
        it), 1 otherwise, 2 for bad arguments.
        """;

    public List<int> Counts { get; set; } = [100, 1000, 10000];
    public List<string> Scenarios { get; set; } = Benchmarks.Scenarios.All.Select(Benchmarks.Scenarios.Name).ToList();
    public List<string> Strategies { get; set; } = ["engine", "fixed-batch", "peer"];
    /// <summary>Seeds of the sizes and durations, run one after another (every N and scenario with each).</summary>
    public List<int> Seeds { get; set; } = [20261123];
    public string Json { get; set; } = Path.Combine("artifacts", "benchmarks", "results.json");
    public bool Quick { get; set; }
    public bool NoImport { get; set; }
    public bool NoWarmUp { get; set; }
    public bool Help { get; set; }

    public static BenchOptions Parse(IReadOnlyList<string> args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{arg} needs a value.");
            List<string> List() => Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            switch (arg)
            {
                case "--help" or "-h" or "-?": o.Help = true; break;
                case "--n":
                    o.Counts = List().Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
                        ? n : throw new ArgumentException($"--n: '{v}' is not a positive number.")).ToList();
                    break;
                case "--scenario" or "--scenarios":
                    var scenarios = List();
                    o.Scenarios = scenarios.Contains("all") ? Benchmarks.Scenarios.All.Select(Benchmarks.Scenarios.Name).ToList()
                        : scenarios.Select(s => Benchmarks.Scenarios.Name(Benchmarks.Scenarios.Parse(s))).ToList();
                    break;
                case "--strategies" or "--strategy":
                    var strategies = List();
                    o.Strategies = strategies.Contains("all") ? ["engine", "fixed-batch", "peer"] : strategies;
                    foreach (var s in o.Strategies)
                        if (s is not ("engine" or "fixed-batch" or "peer")) throw new ArgumentException($"Unknown strategy '{s}' (engine, fixed-batch, peer).");
                    break;
                case "--seed":
                    o.Seeds = [int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed) ? seed
                        : throw new ArgumentException("--seed needs a whole number.")];
                    break;
                case "--seeds":
                    o.Seeds = List().Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s
                        : throw new ArgumentException($"--seeds: '{v}' is not a whole number.")).Distinct().ToList();
                    if (o.Seeds.Count == 0) throw new ArgumentException("--seeds needs at least one seed.");
                    break;
                case "--json": o.Json = Value(); break;
                case "--quick": o.Quick = true; o.Counts = [100]; o.NoImport = true; break;
                case "--no-import": o.NoImport = true; break;
                case "--no-warmup": o.NoWarmUp = true; break;
                default: throw new ArgumentException($"Unknown option '{arg}' (--help lists them).");
            }
        }
        return o;
    }

    public static IStrategy Strategy(string name) => name switch
    {
        "engine" => new EngineStrategy(),
        "fixed-batch" => new FixedBatchStrategy(),
        "peer" => new PeerStrategy(),
        _ => throw new ArgumentException($"Unknown strategy '{name}'."),
    };
}
