using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Avtomat.Ec2.Emulator;

namespace Avtomat.Ec2.Probes;

/// <summary>Where things are: the repository root (the folder with Avtomat.Ec2.sln), the scripts, the built module.</summary>
internal static class Paths
{
    public static string RepoRoot { get; } = FindRoot();
    public static string Scripts => Path.Combine(RepoRoot, "tests", "Avtomat.Ec2.Probes", "scripts");
    public static string Manifest => Path.Combine(RepoRoot, "artifacts", "module", "Avtomat.Ec2", "Avtomat.Ec2.psd1");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Avtomat.Ec2.sln"))) return dir.FullName;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Avtomat.Ec2.sln"))) return dir.FullName;
        throw new InvalidOperationException("Run from inside the repository (no Avtomat.Ec2.sln found above this folder).");
    }

    /// <summary>A new folder for one probe run's logs: artifacts/probes/NAME-yyyyMMdd-HHmmss (or --out).</summary>
    public static string NewRunFolder(string probe, string? outRoot)
    {
        var root = outRoot ?? Path.Combine(RepoRoot, "artifacts", "probes");
        var dir = Path.Combine(root, $"{probe}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>The system clock moved by <see cref="Offset"/> (set it negative, seed, set it back: an old snapshot).</summary>
internal sealed class ShiftedTime : TimeProvider
{
    public TimeSpan Offset { get; set; }
    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
}

/// <summary>The system clock, counting the timers created through it (the engine's timers and its Delay calls).</summary>
internal sealed class CountingTime : TimeProvider
{
    private readonly ConcurrentQueue<(DateTimeOffset At, TimeSpan Due, TimeSpan Period)> _created = new();
    public int Created => _created.Count;
    public IReadOnlyList<(DateTimeOffset At, TimeSpan Due, TimeSpan Period)> CreatedTimers => _created.ToArray();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        _created.Enqueue((GetUtcNow(), dueTime, period));
        return base.CreateTimer(callback, state, dueTime, period);
    }
}

/// <summary>Copy durations decided by the probe, not by the emulator's seeded Random: log-normal with the given median
/// and sigma, the same for every copy of one source (as in EC2, where it depends on the data), each recorded with its
/// start so makespan and lower bounds can be computed.</summary>
internal sealed class CopyDurations
{
    private readonly object _gate = new();
    private readonly List<(string Source, DateTimeOffset Start, double Seconds)> _copies = new();
    public double Median { get; }
    public double Sigma { get; }
    public int Seed { get; }
    /// <summary>Fixed seconds instead of log-normal (when set).</summary>
    public double? Fixed { get; }

    public CopyDurations(double median, double sigma, int seed, double? fixedSeconds = null)
    {
        Median = median;
        Sigma = sigma;
        Seed = seed;
        Fixed = fixedSeconds;
    }

    public IReadOnlyList<(string Source, DateTimeOffset Start, double Seconds)> Copies { get { lock (_gate) return _copies.ToList(); } }

    /// <summary>Sources whose copies take these seconds instead (warm-up copies).</summary>
    public Dictionary<string, double> Overrides { get; } = new(StringComparer.Ordinal);

    public double? DurationOf(NewSnapshotInfo info)
    {
        if (!info.IsCopy) return null;
        double seconds;
        lock (_gate) seconds = Overrides.TryGetValue(info.SourceSnapshotId ?? "", out var given) ? given : Fixed ?? SecondsFor(info.SourceSnapshotId ?? "");
        lock (_gate) _copies.Add((info.SourceSnapshotId ?? "", info.Start, seconds));
        return seconds;
    }

    public double SecondsFor(string source)
    {
        // FNV-1a: stable across processes (string.GetHashCode is not).
        var hash = 2166136261u;
        foreach (var c in source) hash = (hash ^ c) * 16777619u;
        var random = new Random(unchecked((int)hash) ^ Seed);
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        var z = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        return Median * Math.Exp(Sigma * z);
    }
}

/// <summary>An EC2 emulator in this process, listening on 127.0.0.1 (real HTTP for the pwsh processes), with the probe's
/// clock and copy durations.</summary>
internal sealed class ProbeEmulator : IAsyncDisposable
{
    public const string AccessKey = "AKIDPROBE";
    public const string SecretKey = "probe-secret";
    public const string Source = "us-east-1";
    public const string Destination = "us-west-2";

    private readonly ConcurrentDictionary<string, AmazonEC2Client> _clients = new(StringComparer.Ordinal);

    private ProbeEmulator(Ec2Emulator emulator, ShiftedTime clock, CopyDurations durations)
    {
        Emulator = emulator;
        Clock = clock;
        Durations = durations;
    }

    public Ec2Emulator Emulator { get; }
    public ShiftedTime Clock { get; }
    public CopyDurations Durations { get; }
    public string Url => Emulator.BaseUrl.ToString();

    public static async Task<ProbeEmulator> StartAsync(CopyDurations durations, int randomSeed, Action<EmulatorConfig>? configure = null)
    {
        var clock = new ShiftedTime();
        var config = new EmulatorConfig();
        configure?.Invoke(config);
        var options = new EmulatorOptions
        {
            Port = 0,
            TimeProvider = clock,
            RandomSeed = randomSeed,
            Config = config,
            DurationOf = durations.DurationOf,
        };
        return new ProbeEmulator(await Ec2Emulator.StartAsync(options), clock, durations);
    }

    /// <summary>Completed snapshots in <paramref name="region"/>, started now on the emulator's clock.</summary>
    public List<string> Seed(int count, string region = Source, int sizeGiB = 100) =>
        Emulator.Seed(new SeedRequest { Region = region, Snapshots = count, SizeGiB = sizeGiB }).SnapshotIds;

    public EmulatorStats Stats() => Emulator.GetStats();

    /// <summary>EC2 calls only (STS GetCallerIdentity left out), summed over regions, per action.</summary>
    public static Dictionary<string, long> Ec2Calls(EmulatorStats stats)
    {
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var region in stats.Calls.Values)
            foreach (var (action, n) in region)
                if (!action.StartsWith("sts:", StringComparison.Ordinal)) calls[action] = calls.GetValueOrDefault(action) + n;
        return calls;
    }

    public static long Total(Dictionary<string, long> calls) => calls.Values.Sum();

    /// <summary>Copies EC2 made per source into <paramref name="destination"/> (stats, deleted ones included).</summary>
    public static Dictionary<string, int> CopiesPerSource(EmulatorStats stats, string destination = Destination) =>
        stats.CopiesPerSource.ToDictionary(p => p.Key.Split('/')[1], p => p.Value.GetValueOrDefault(destination), StringComparer.Ordinal);

    public AmazonEC2Client Client(string region) => _clients.GetOrAdd(region, r => new AmazonEC2Client(
        new BasicAWSCredentials(AccessKey, SecretKey),
        new AmazonEC2Config { ServiceURL = Url, AuthenticationRegion = r, MaxErrorRetry = 5 }));

    /// <summary>Every snapshot the account owns in <paramref name="region"/> now (deleted ones are gone). Call it after
    /// reading the stats: it is an EC2 call too.</summary>
    public async Task<List<Snapshot>> OwnedSnapshotsAsync(string region)
    {
        var all = new List<Snapshot>();
        string? next = null;
        do
        {
            var response = await Client(region).DescribeSnapshotsAsync(new DescribeSnapshotsRequest
            {
                OwnerIds = new List<string> { "self" }, MaxResults = 1000, NextToken = next,
            });
            all.AddRange(response.Snapshots ?? new List<Snapshot>());
            next = response.NextToken;
        } while (!string.IsNullOrEmpty(next));
        return all;
    }

    public static string? Tag(Snapshot s, string key) => s.Tags?.FirstOrDefault(t => t.Key == key)?.Value;

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values) client.Dispose();
        await Emulator.DisposeAsync();
    }
}

/// <summary>A pwsh process from the repository's tool manifest (`dotnet tool run pwsh`), running one probe script, its
/// stdout and stderr appended to a file. Killed (with its children) only by <see cref="Kill"/>.</summary>
internal sealed class PwshRun
{
    private readonly Process _process;
    private readonly StreamWriter _output;

    private PwshRun(Process process, StreamWriter output, string outputFile)
    {
        _process = process;
        _output = output;
        OutputFile = outputFile;
        Started = DateTime.UtcNow;
    }

    public DateTime Started { get; }
    public string OutputFile { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    public static PwshRun Start(string script, IEnumerable<string> arguments, string outputFile)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Paths.RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "tool", "run", "pwsh", "--", "-NoProfile", "-NonInteractive", "-File", Path.Combine(Paths.Scripts, script) })
            info.ArgumentList.Add(a);
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        info.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        var output = new StreamWriter(outputFile, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.WriteLine("stderr: " + e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new PwshRun(process, output, outputFile);
    }

    /// <summary>True when it exited within <paramref name="limit"/>.</summary>
    public async Task<bool> WaitAsync(TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            _process.WaitForExit(); // drain the output readers
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Ends this process and its children (the `dotnet tool run` wrapper and the pwsh it started).</summary>
    public void Kill()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.WaitForExit(10_000);
    }

    public void Close()
    {
        lock (_output) _output.Dispose();
        _process.Dispose();
    }
}

/// <summary>What Probe-Copy.ps1 writes to its -ResultFile.</summary>
internal sealed class CopyRunResult
{
    public string StartUtc { get; set; } = "";
    public string EndUtc { get; set; } = "";
    public double Seconds { get; set; }
    public List<CopyRunItem> Results { get; set; } = new();
    public int Errors { get; set; }
    public int Warnings { get; set; }
    public string? StatsLine { get; set; }
    public int? DuplicatesRemoved { get; set; }
    public int? Retries { get; set; }
    public int? LimitHits { get; set; }
    public int? Uncertain { get; set; }
    public int? Throttled { get; set; }

    public DateTime Start => Utc(StartUtc);
    public DateTime End => Utc(EndUtc);

    public static CopyRunResult? Read(string file) =>
        File.Exists(file) ? JsonSerializer.Deserialize<CopyRunResult>(ReadSingle(file), Json.Options) : null;

    /// <summary>ConvertTo-Json of a single-item list writes the item, not a list: accept both for Results.</summary>
    private static string ReadSingle(string file) => File.ReadAllText(file);

    public static DateTime Utc(string text) =>
        DateTime.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
}

internal sealed class CopyRunItem
{
    public string SourceSnapshotId { get; set; } = "";
    public string? SnapshotId { get; set; }
    public string State { get; set; } = "";
    public bool Reused { get; set; }
    public DateTime? StartTime { get; set; }
    public DateTime? CompletionTime { get; set; }
    public DateTime ReceivedUtc { get; set; }
}

internal static class Json
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new SingleOrArrayConverterFactory() },
    };

    public static void Write(string file, object value) => File.WriteAllText(file, JsonSerializer.Serialize(value, value.GetType(), Options));
}

/// <summary>PowerShell's ConvertTo-Json writes a one-element list as the element itself: read lists either way.</summary>
internal sealed class SingleOrArrayConverterFactory : System.Text.Json.Serialization.JsonConverterFactory
{
    public override bool CanConvert(Type t) => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(List<>);

    public override System.Text.Json.Serialization.JsonConverter CreateConverter(Type t, JsonSerializerOptions options) =>
        (System.Text.Json.Serialization.JsonConverter)Activator.CreateInstance(typeof(SingleOrArray<>).MakeGenericType(t.GetGenericArguments()[0]))!;

    private sealed class SingleOrArray<T> : System.Text.Json.Serialization.JsonConverter<List<T>>
    {
        public override List<T>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Null) return new List<T>();
            if (reader.TokenType != JsonTokenType.StartArray) return new List<T> { JsonSerializer.Deserialize<T>(ref reader, options)! };
            var list = new List<T>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) list.Add(JsonSerializer.Deserialize<T>(ref reader, options)!);
            return list;
        }

        public override void Write(Utf8JsonWriter writer, List<T> value, JsonSerializerOptions options)
        {
            writer.WriteStartArray();
            foreach (var item in value) JsonSerializer.Serialize(writer, item, options);
            writer.WriteEndArray();
        }
    }
}

/// <summary>The probe's own output: figures to the console and to summary.md in the run folder.</summary>
internal sealed class Report
{
    private readonly string _file;

    public Report(string folder) => _file = Path.Combine(folder, "summary.md");

    public void Line(string text = "")
    {
        Console.WriteLine(text);
        File.AppendAllText(_file, text + Environment.NewLine);
    }

    public static string F(double value, string format = "0.0") => value.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>Lines of a Probe-*.ps1 log: "TIMESTAMP KIND text".</summary>
internal static class LogLines
{
    public static List<(DateTime At, string Kind, string Text)> Read(string file)
    {
        var lines = new List<(DateTime, string, string)>();
        if (!File.Exists(file)) return lines;
        foreach (var line in File.ReadLines(file))
        {
            var parts = line.Split(' ', 3);
            if (parts.Length < 3 || !DateTime.TryParse(parts[0], CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at)) continue;
            lines.Add((at, parts[1], parts[2]));
        }
        return lines;
    }
}

internal static class Args
{
    public static string? Get(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public static int Int(string[] args, string name, int fallback) => Get(args, name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
    public static double Double(string[] args, string name, double fallback) => Get(args, name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
    public static bool Flag(string[] args, string name) => args.Contains(name);
}
