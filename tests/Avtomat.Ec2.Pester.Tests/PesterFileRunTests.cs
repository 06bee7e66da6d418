using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace Avtomat.Ec2.Pester.Tests;

/// <summary>
/// Runs one Pester file tests/*.Tests.ps1 in a fresh real pwsh: the PowerShell dotnet tool pinned in
/// .config/dotnet-tools.json (`dotnet tool restore` once, then `dotnet tool run pwsh`), with the Pester version pinned
/// in Directory.Packages.props imported by path from the NuGet package folder, against the built module folder and the
/// built emulator program. A case passes only when Pester ran at least one test and nothing failed; otherwise it fails
/// with the failing Pester tests' names and messages (and pwsh's output, all of it in the test output).
/// </summary>
/// <remarks>
/// <para>One test class per file, each a class of its own (PesterFileCases.g.cs, which the project writes from the
/// tests/*.Tests.ps1 it finds at build time), so xunit runs the files as parallel test collections and
/// <c>--filter DisplayName~CopyAvSnapshot</c> runs one file alone. At most <see cref="Parallelism"/> pwsh processes run
/// at once (AVTOMAT_PESTER_PARALLEL, default 3 on this project's 2-core machines): the files mostly wait on the emulator,
/// not the CPU.</para>
/// <para>Files that run at the same time share nothing: each starts its own emulator on a free port, and each pwsh gets
/// its own temporary folder (TMPDIR/TEMP/TMP: Pester's TestDrive and every temporary file the file makes), its own
/// PowerShell cache folder (XDG_CACHE_HOME: the module analysis cache and the startup JIT profile, which concurrent pwsh
/// processes would otherwise write at once) and its own empty AWS credentials and config files. HOME is left alone:
/// `dotnet tool run` finds the pwsh tool in the NuGet package folder under it; the files that need another HOME set one
/// for the processes they start themselves.</para>
/// <para>Each file's NUnit XML result goes to AVTOMAT_PESTER_RESULTS (else artifacts/pester-results), where .ci/run
/// counts the individual Pester tests in place of these cases. A case that fails without a failed test in that XML
/// (pwsh missing or crashed, a time-out, no test run, a failed block or container) also writes NAME.error.txt there,
/// which .ci/run counts as one failure.</para>
/// </remarks>
public abstract class PesterFileRunTests(ITestOutputHelper output, string file)
{
    private static readonly TimeSpan ToolRestoreTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan FileTimeout = TimeSpan.FromMinutes(10);
    private static readonly SemaphoreSlim ToolRestoreLock = new(1, 1);
    private static bool toolRestored;

    /// <summary>How many Pester files run at once (AVTOMAT_PESTER_PARALLEL, default 3).</summary>
    public static int Parallelism { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("AVTOMAT_PESTER_PARALLEL"), out var n) && n > 0 ? n : 3;

    /// <summary>The files that take longest, longest first (measured in CI on 2 cores, 2026-12-08: Package 88 s,
    /// AcrossAccounts 77 s, Isolation 71 s, Credentials 65 s, Runbooks 53 s, ManyAccounts 40 s; every other file 20 s or
    /// less). They get the first free slots, the short files fill in after them (longest processing time first), so
    /// no long file starts last and runs alone at the end. Only the order depends on this list: a file missing from it
    /// starts after these, in name order; a stale list costs time, never a result.</summary>
    private static readonly string[] LongestFirst =
    [
        "Avtomat.Ec2.Package.Tests.ps1", "Avtomat.Ec2.AcrossAccounts.Tests.ps1", "Avtomat.Ec2.Isolation.Tests.ps1",
        "Avtomat.Ec2.Credentials.Tests.ps1", "Avtomat.Ec2.Runbooks.Tests.ps1", "Avtomat.Ec2.ManyAccounts.Tests.ps1",
    ];

    /// <summary>How long the first file waits for the others to arrive before the first slots are given (the classes
    /// start together, but one by one after the tool restore).</summary>
    private static readonly TimeSpan GatheringWindow = TimeSpan.FromSeconds(1);

    private static readonly object TurnLock = new();
    private static readonly List<(int Rank, string File, TaskCompletionSource Turn)> Waiting = [];
    private static int running;
    private static Task? gathering;

    private static int Rank(string file) => Array.IndexOf(LongestFirst, file) is var i and >= 0 ? i : LongestFirst.Length;

    /// <summary>Waits until this file may start: at most <see cref="Parallelism"/> run at once, and a free slot goes to
    /// the waiting file that ranks first in <see cref="LongestFirst"/> (then by name).</summary>
    private static async Task TakeTurnAsync(string file)
    {
        var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task gathered;
        lock (TurnLock)
        {
            Waiting.Add((Rank(file), file, turn));
            gathered = gathering ??= Task.Delay(GatheringWindow);
        }
        await gathered;
        Dispatch();
        await turn.Task;
    }

    private static void ReleaseTurn()
    {
        lock (TurnLock) running--;
        Dispatch();
    }

    private static void Dispatch()
    {
        lock (TurnLock)
        {
            while (running < Parallelism && Waiting.Count > 0)
            {
                var next = Waiting.OrderBy(w => w.Rank).ThenBy(w => w.File, StringComparer.Ordinal).First();
                Waiting.Remove(next);
                running++;
                next.Turn.SetResult();
            }
        }
    }

    private static readonly string RepositoryRoot = Metadata("RepositoryRoot");
    private static readonly string PesterManifestPath = Metadata("PesterManifestPath");
    private static readonly string PesterVersion = Metadata("PesterVersion");
    private static readonly string ModuleManifestPath = Metadata("ModuleManifestPath");
    private static readonly string EmulatorPath = Metadata("EmulatorPath");
    private static readonly string TestsDirectory = Path.Combine(RepositoryRoot, "tests");
    private static readonly string Runner = Path.Combine(TestsDirectory, "Avtomat.Ec2.Pester.Tests", "Invoke-PesterFile.ps1");

    /// <summary>The Pester files this project runs, one test class each: tests/*.Tests.ps1.</summary>
    public static IReadOnlyList<string> PesterFiles() =>
        Directory.GetFiles(TestsDirectory, "*.Tests.ps1").Select(f => Path.GetFileName(f)!).OrderBy(f => f, StringComparer.Ordinal).ToList();

    /// <summary>The file this class runs.</summary>
    public string PesterFile => file;

    [Fact]
    public async Task PassesOnRealPwsh()
    {
        var resultsDirectory = ResultsDirectory();
        var name = Path.GetFileNameWithoutExtension(file);
        var resultPath = Path.Combine(resultsDirectory, name + ".xml");
        var errorPath = Path.Combine(resultsDirectory, name + ".error.txt");
        File.Delete(resultPath);
        File.Delete(errorPath);

        Run? run = null;
        PesterResults? results = null;
        var problem = MissingPrerequisite();
        if (problem is null)
        {
            try
            {
                await RestoreToolsOnce();
                var queued = Stopwatch.StartNew();
                await TakeTurnAsync(file);
                try
                {
                    output.WriteLine($"[{file}: started after {queued.Elapsed.TotalSeconds:0.0} s in the queue, {Parallelism} at a time]");
                    run = await RunPwsh(resultPath);
                }
                finally
                {
                    ReleaseTurn();
                }
                results = File.Exists(resultPath) ? PesterResults.Read(resultPath) : null;
                problem = Verdict(run, results);
            }
            catch (Exception e)
            {
                // pwsh or the tool missing, a result that does not parse: still a failure .ci/run counts.
                problem = $"{e.GetType().Name}: {e.Message}";
            }
        }

        if (run is not null) output.WriteLine(run.Output);
        if (problem is null) return;

        if (results is null || results.Failed.Count == 0)
        {
            // Not visible as a failed Pester test: .ci/run counts this file as one failure.
            File.WriteAllText(errorPath, problem + Environment.NewLine);
        }
        var message = new StringBuilder();
        message.AppendLine($"{file}: {problem}");
        foreach (var failure in results?.Failed ?? [])
        {
            message.AppendLine($"  [-] {failure.Name}");
            message.AppendLine(Indent(failure.Message, "      "));
            if (failure.Location is not null) message.AppendLine($"      {failure.Location}");
        }
        // A failed BeforeAll/AfterAll or file is not a test case in the XML: the runner prints them one a line.
        foreach (var line in (run?.Output ?? "").Split('\n'))
        {
            if (line.StartsWith("Failed block: ", StringComparison.Ordinal) || line.StartsWith("Failed container: ", StringComparison.Ordinal))
            {
                message.AppendLine("  " + line.TrimEnd());
            }
        }
        if (run is not null && (results is null || results.Failed.Count == 0))
        {
            // Nothing in the XML says what went wrong: the end of pwsh's output does (all of it is in the test output).
            message.AppendLine("--- pwsh output (the end) ---");
            message.AppendLine(Tail(run.Output, 120));
        }
        Assert.Fail(message.ToString());
    }

    private static string? MissingPrerequisite() =>
        !File.Exists(PesterManifestPath) ? $"Pester {PesterVersion} is not in the NuGet package folder: {PesterManifestPath} (restore fetches it)"
        : !File.Exists(ModuleManifestPath) ? $"the module folder was not built: {ModuleManifestPath}"
        : !File.Exists(EmulatorPath) ? $"the emulator program was not built: {EmulatorPath}"
        : null;

    /// <summary>Why the file failed, or null when Pester ran tests and none failed.</summary>
    private static string? Verdict(Run run, PesterResults? results)
    {
        if (run.TimedOut) return $"pwsh did not finish within {FileTimeout.TotalSeconds:0} s and was ended (with its child processes)";
        var counts = results is null ? "no Pester result was written" : $"{results.Passed} passed, {results.Failed.Count} failed, {results.Skipped} skipped";
        if (results is null) return $"pwsh exited with {run.ExitCode}; {counts}";
        if (results.Failed.Count > 0) return $"{counts} (pwsh exit code {run.ExitCode})";
        if (results.Passed == 0) return $"Pester ran no test; {counts} (pwsh exit code {run.ExitCode})";
        if (run.ExitCode != 0) return $"{counts}, but pwsh exited with {run.ExitCode} (a failed block or container, see the output)";
        return null;
    }

    private static async Task RestoreToolsOnce()
    {
        await ToolRestoreLock.WaitAsync();
        try
        {
            if (toolRestored) return;
            var restore = await RunProcess(["tool", "restore"], ToolRestoreTimeout, environment: null);
            if (restore.TimedOut || restore.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"`dotnet tool restore` in {RepositoryRoot} {(restore.TimedOut ? "timed out" : $"exited with {restore.ExitCode}")}:{Environment.NewLine}{restore.Output}");
            }
            toolRestored = true;
        }
        finally
        {
            ToolRestoreLock.Release();
        }
    }

    private async Task<Run> RunPwsh(string resultPath)
    {
        // A folder of this run's own (see the remarks): temp, PowerShell's cache and the AWS files, deleted afterwards.
        var root = Directory.CreateTempSubdirectory("avtomat-pester-" + Path.GetFileNameWithoutExtension(file) + "-").FullName;
        var awsDirectory = Directory.CreateDirectory(Path.Combine(root, "aws")).FullName;
        var temp = Directory.CreateDirectory(Path.Combine(root, "tmp")).FullName;
        var cache = Directory.CreateDirectory(Path.Combine(root, "cache")).FullName;
        // Isolated like the hosted tests: no ambient AWS credentials, region or profile, no ~/.aws files, no metadata.
        File.WriteAllText(Path.Combine(awsDirectory, "credentials"), "");
        File.WriteAllText(Path.Combine(awsDirectory, "config"), "");
        var environment = new Dictionary<string, string?>
        {
            ["AVTOMAT_EC2_EMULATOR"] = EmulatorPath,
            ["TMPDIR"] = temp,
            ["TEMP"] = temp,
            ["TMP"] = temp,
            ["XDG_CACHE_HOME"] = cache,
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(awsDirectory, "credentials"),
            ["AWS_CONFIG_FILE"] = Path.Combine(awsDirectory, "config"),
            ["POWERSHELL_TELEMETRY_OPTOUT"] = "1",
            ["POWERSHELL_UPDATECHECK"] = "Off",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };
        foreach (var name in new[]
                 {
                     "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                     "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 })
        {
            environment[name] = null;
        }
        output.WriteLine($"pwsh -File {Path.GetRelativePath(RepositoryRoot, Runner)} -Path tests/{file} (Pester {PesterVersion}, result {resultPath})");
        try
        {
            return await RunProcess(
                ["tool", "run", "pwsh", "--", "-NoProfile", "-NonInteractive", "-File", Runner,
                 "-Path", Path.Combine(TestsDirectory, file), "-PesterManifest", PesterManifestPath,
                 "-ResultPath", resultPath, "-PesterVersion", PesterVersion],
                FileTimeout, environment);
        }
        finally
        {
            TryDelete(root);
        }
    }

    /// <summary>Runs `dotnet ARGS` in the repository root; the process tree is always ended (time-out, failure).</summary>
    private static async Task<Run> RunProcess(IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepositoryRoot,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) start.Environment.Remove(key);
            else start.Environment[key] = value;
        }

        var text = new StringBuilder();
        void Append(string? line)
        {
            if (line is null) return;
            lock (text) text.AppendLine(line);
        }

        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        var clock = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var timedOut = false;
        try
        {
            using var cancel = new CancellationTokenSource(timeout);
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
        }
        finally
        {
            if (!process.HasExited)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            }
        }
        // Waits for the redirected streams to be read to their end too.
        await process.WaitForExitAsync();
        Append($"[dotnet {string.Join(' ', arguments.Take(3))} {(timedOut ? "ended after the time-out" : $"exited with {process.ExitCode}")} after {clock.Elapsed.TotalSeconds:0.0} s]");
        lock (text) return new Run(timedOut ? -1 : process.ExitCode, timedOut, text.ToString());
    }

    private static string ResultsDirectory()
    {
        var configured = Environment.GetEnvironmentVariable("AVTOMAT_PESTER_RESULTS");
        var directory = string.IsNullOrEmpty(configured) ? Path.Combine(RepositoryRoot, "artifacts", "pester-results") : Path.GetFullPath(configured);
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static string Tail(string text, int lines)
    {
        var all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    private static string Indent(string text, string indent) =>
        indent + text.Replace("\n", "\n" + indent, StringComparison.Ordinal);

    private static void TryDelete(string directory)
    {
        try { Directory.Delete(directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static string Metadata(string key) =>
        typeof(PesterFileRunTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"Assembly metadata {key} is missing.");

    private sealed record Run(int ExitCode, bool TimedOut, string Output);

    private sealed record Failure(string Name, string Message, string? Location);

    /// <summary>The test cases of a Pester NUnit 2.5 result: Success, Failure, Ignored (skipped), Inconclusive.</summary>
    private sealed record PesterResults(int Passed, int Skipped, IReadOnlyList<Failure> Failed)
    {
        public static PesterResults Read(string path)
        {
            var cases = XDocument.Load(path).Descendants("test-case").ToList();
            var failed = cases.Where(c => (string?)c.Attribute("result") is "Failure" or "Error")
                .Select(c => new Failure(
                    (string?)c.Attribute("name") ?? "?",
                    ((string?)c.Element("failure")?.Element("message") ?? "").Trim(),
                    ((string?)c.Element("failure")?.Element("stack-trace"))?.Trim().Split('\n')[0]))
                .ToList();
            return new PesterResults(
                cases.Count(c => (string?)c.Attribute("result") == "Success"),
                cases.Count(c => (string?)c.Attribute("result") is "Ignored" or "Skipped" or "Inconclusive" or "NotRunnable"),
                failed);
        }
    }
}
