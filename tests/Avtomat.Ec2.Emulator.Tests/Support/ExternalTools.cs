using System.Diagnostics;

namespace Avtomat.Ec2.Emulator.Tests.Support;

public static class ExternalTools
{
    private static readonly Lazy<string?> AwsCliPath = new(() => FindOnPath("aws"));
    private static readonly Lazy<string?> Boto3Problem = new(ProbeBoto3);

    public static string? AwsCli => AwsCliPath.Value;

    /// <summary>null when `python3 -c "import boto3"` works, otherwise why not.</summary>
    public static string? Boto3Unavailable => Boto3Problem.Value;

    public static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var candidate in OperatingSystem.IsWindows() ? new[] { name + ".exe", name + ".cmd", name } : new[] { name })
            {
                var full = Path.Combine(dir, candidate);
                if (File.Exists(full)) return full;
            }
        }
        return null;
    }

    private static string? ProbeBoto3()
    {
        if (FindOnPath("python3") is null) return "python3 not found on PATH; install Python 3 with boto3 to run this test";
        try
        {
            var result = Run("python3", ["-c", "import boto3"], new Dictionary<string, string?>(), TimeSpan.FromSeconds(30));
            return result.ExitCode == 0 ? null : "python3 cannot import boto3 (pip install boto3) to run this test";
        }
        catch (Exception ex)
        {
            return "python3 with boto3 is not usable: " + ex.Message;
        }
    }

    public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr);

    /// <summary>Runs a process with extra environment (null value removes a variable); kills it on timeout.</summary>
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, IDictionary<string, string?> environment,
        TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + fileName);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            process.WaitForExit(5000);
            throw new TimeoutException($"{fileName} did not finish within {timeout}; killed. stderr: {SafeResult(stderr)}");
        }
        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string SafeResult(Task<string> t) => t.IsCompletedSuccessfully ? t.Result : "";

    /// <summary>Environment for AWS CLI / boto3 runs: fixed keys, and no user config or profile is read.</summary>
    public static Dictionary<string, string?> IsolatedAwsEnvironment(string tempDir, string accessKeyId = EmulatorClients.DefaultAccessKeyId)
        => new()
        {
            ["AWS_ACCESS_KEY_ID"] = accessKeyId,
            ["AWS_SECRET_ACCESS_KEY"] = "secret",
            ["AWS_SESSION_TOKEN"] = null,
            ["AWS_PROFILE"] = null,
            ["AWS_DEFAULT_PROFILE"] = null,
            ["AWS_REGION"] = null,
            ["AWS_DEFAULT_REGION"] = null,
            ["AWS_ENDPOINT_URL"] = null,
            ["AWS_ENDPOINT_URL_EC2"] = null,
            ["AWS_CONFIG_FILE"] = Path.Combine(tempDir, "no-such-config"),
            ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(tempDir, "no-such-credentials"),
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_PAGER"] = "",
        };
}

/// <summary>A fact that is skipped (not failed) when the AWS CLI is not on PATH.</summary>
public sealed class AwsCliFactAttribute : FactAttribute
{
    public AwsCliFactAttribute()
    {
        if (ExternalTools.AwsCli is null) Skip = "AWS CLI (aws) not found on PATH; install it to run this test";
    }
}

/// <summary>A fact that is skipped (not failed) when python3 with boto3 is not available.</summary>
public sealed class Boto3FactAttribute : FactAttribute
{
    public Boto3FactAttribute()
    {
        if (ExternalTools.Boto3Unavailable is { } why) Skip = why;
    }
}
