using System.Diagnostics;
using System.Globalization;

namespace Avtomat.Ec2.Benchmarks;

public sealed class ImportTimeResult
{
    public string Manifest { get; set; } = "";
    public List<double> Milliseconds { get; set; } = new();
    public double? MedianMs { get; set; }
    public bool? Met { get; set; }
    public string? Note { get; set; }
}

/// <summary>Hosted Import-Module time of the built module: the median of 10 fresh processes of the pwsh the repository
/// pins (<c>dotnet tool run pwsh</c>), each timing its own Import-Module with a Stopwatch (as build.ps1 -Task
/// ImportTime does). Skipped, with a note, when the module is not built or pwsh cannot be run.</summary>
public static class ImportTime
{
    public static ImportTimeResult Measure(string repoRoot, int runs = 10, Action<string>? log = null)
    {
        var manifest = Path.Combine(repoRoot, "artifacts", "module", "Avtomat.Ec2", "Avtomat.Ec2.psd1");
        var result = new ImportTimeResult { Manifest = Path.GetRelativePath(repoRoot, manifest) };
        if (!File.Exists(manifest))
        {
            result.Note = $"skipped: {result.Manifest} is not built (dotnet build Avtomat.Ec2.sln -c Release)";
            return result;
        }
        var restore = Start(repoRoot, "tool restore", TimeSpan.FromMinutes(3));
        if (restore.Exit != 0)
        {
            result.Note = "skipped: dotnet tool restore failed (pwsh unavailable): " + Last(restore.Error + "\n" + restore.Output);
            return result;
        }
        var command = "$s = [Diagnostics.Stopwatch]::StartNew(); Import-Module -Name '" + manifest.Replace("'", "''") +
                      "'; $s.Elapsed.TotalMilliseconds.ToString([cultureinfo]::InvariantCulture)";
        for (var i = 0; i < runs; i++)
        {
            var run = Start(repoRoot, $"tool run pwsh -- -NoProfile -NonInteractive -Command \"{command.Replace("\"", "\\\"")}\"", TimeSpan.FromMinutes(2));
            if (run.Exit != 0 || !double.TryParse(Last(run.Output), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
            {
                result.Note = $"skipped: pwsh run {i + 1} failed (exit {run.Exit}): {Last(run.Error + "\n" + run.Output)}";
                return result;
            }
            result.Milliseconds.Add(Math.Round(ms, 1));
            log?.Invoke($"import {i + 1}/{runs}: {ms:0.0} ms");
        }
        result.MedianMs = Math.Round(Workload.Median(result.Milliseconds), 1);
        result.Met = result.MedianMs <= Targets.ImportMs;
        return result;
    }

    private static string Last(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";

    private static (int Exit, string Output, string Error) Start(string directory, string arguments, TimeSpan limit)
    {
        var info = new ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        info.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        try
        {
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(limit))
            {
                process.Kill(entireProcessTree: true);
                return (-1, "", "timed out");
            }
            return (process.ExitCode, stdout.Result, stderr.Result);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return (-1, "", e.Message);
        }
    }
}
