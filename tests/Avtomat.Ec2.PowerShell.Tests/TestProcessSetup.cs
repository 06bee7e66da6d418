using System.Runtime.CompilerServices;

namespace Avtomat.Ec2.PowerShell.Tests;

/// <summary>
/// Process-wide set-up for this test assembly, before any test runs:
/// <list type="bullet">
/// <item>AWS isolation: instance metadata is never queried, the machine's ~/.aws files are never read (the shared
/// credentials and config files point at empty temp files), and ambient AWS_* credentials/region/profile variables are
/// removed, so the SDK default chain finds exactly what a test puts there.</item>
/// </list>
/// </summary>
internal static class TestProcessSetup
{
    public static string EmptyCredentialsFile { get; private set; } = "";
    public static string EmptyConfigFile { get; private set; } = "";

    [ModuleInitializer]
    internal static void Initialize()
    {
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
        foreach (var name in new[]
                 {
                     "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                     "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 })
        {
            Environment.SetEnvironmentVariable(name, null);
        }
        var dir = Path.Combine(Path.GetTempPath(), "avtomat-ps-tests-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        EmptyCredentialsFile = Path.Combine(dir, "credentials");
        EmptyConfigFile = Path.Combine(dir, "config");
        File.WriteAllText(EmptyCredentialsFile, "");
        File.WriteAllText(EmptyConfigFile, "");
        Environment.SetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE", EmptyCredentialsFile);
        Environment.SetEnvironmentVariable("AWS_CONFIG_FILE", EmptyConfigFile);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
    }
}
