using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Reflection;

namespace Avtomat.Ec2.PowerShell.Tests;

/// <summary>A real PowerShell engine in the test process that imports the module folder `dotnet build` laid out.</summary>
public sealed class PowerShellHost : IDisposable
{
    public static string ModuleManifestPath { get; } = Metadata("ModuleManifestPath");
    public static string SourceManifestPath { get; } = Path.GetFullPath(Metadata("SourceManifestPath"));
    public static string ModuleDirectory { get; } = Path.GetDirectoryName(ModuleManifestPath)!;

    private readonly Runspace runspace;

    /// <param name="importModule">Import the built module folder.</param>
    /// <param name="configure">Adjusts the session state before the runspace opens (e.g. adds test-only cmdlets or variables).</param>
    public PowerShellHost(bool importModule = true, Action<InitialSessionState>? configure = null)
    {
        var state = InitialSessionState.CreateDefault2();
        configure?.Invoke(state);
        runspace = RunspaceFactory.CreateRunspace(state);
        runspace.Open();
        if (importModule)
        {
            Run("Import-Module -Name $args[0] -ErrorAction Stop", ModuleManifestPath);
        }
    }

    /// <summary>Runs a script; arguments are available as $args. Throws if the script wrote errors.</summary>
    public Collection<PSObject> Run(string script, params object[] args)
    {
        using var ps = Create(script, args);
        var output = ps.Invoke();
        if (ps.HadErrors)
        {
            var errors = string.Join(Environment.NewLine, ps.Streams.Error.Select(e => e.ToString()));
            throw new InvalidOperationException($"Script wrote errors: {errors}");
        }
        return output;
    }

    /// <summary>A pipeline bound to this host's runspace, for tests that inspect streams themselves.</summary>
    public System.Management.Automation.PowerShell Create(string script, params object[] args)
    {
        var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = runspace;
        ps.AddScript(script);
        foreach (var arg in args)
        {
            ps.AddArgument(arg);
        }
        return ps;
    }

    /// <summary>The root psd1 as data (Import-PowerShellDataFile is not in a Core-only host, so use the parser's safe evaluation).</summary>
    public static System.Collections.Hashtable ReadSourceManifest()
    {
        var ast = System.Management.Automation.Language.Parser.ParseFile(SourceManifestPath, out _, out var errors);
        Assert.Empty(errors);
        var table = ast.Find(a => a is System.Management.Automation.Language.HashtableAst, searchNestedScriptBlocks: false)!;
        return (System.Collections.Hashtable)((System.Management.Automation.Language.HashtableAst)table).SafeGetValue();
    }

    public void Dispose() => runspace.Dispose();

    private static string Metadata(string key) =>
        typeof(PowerShellHost).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"Assembly metadata {key} is missing.");
}
