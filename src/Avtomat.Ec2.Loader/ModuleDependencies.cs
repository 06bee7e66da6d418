using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Avtomat.Ec2.Loader;

/// <summary>
/// Where the engine and its AWSSDK copy load. AWSSDK v4 assemblies all carry AssemblyVersion 4.0.0.0, so one copy per
/// load context: whichever module loads first would otherwise decide the SDK build of the whole session.
/// <para>PowerShell 7: the engine (<c>Dependencies/Avtomat.Ec2.Engine.dll</c>) and every AWSSDK assembly load into a
/// module-owned <see cref="System.Runtime.Loader.AssemblyLoadContext"/>; AWS.Tools keeps the default context and its
/// own build, in either import order. Only plain values cross: the cmdlet assembly references no AWSSDK type.</para>
/// <para>Windows PowerShell 5.1 has one context per AppDomain: an AWSSDK 4.x the session already loaded is reused,
/// otherwise ours loads (and a later AWS.Tools import then shares it).</para>
/// PowerShell runs <see cref="OnImport"/> when it imports this nested module, before the root module's cmdlet types
/// (whose base types name engine types) are scanned.
/// </summary>
public sealed class ModuleDependencies : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    /// <summary>The module folder's <c>Dependencies</c> subfolder: out of reach of the default context's probing (which
    /// looks beside the cmdlet assembly), so only this loader decides where its assemblies go.</summary>
    public static string DependencyDirectory { get; } =
        Path.Combine(Path.GetDirectoryName(typeof(ModuleDependencies).Assembly.Location) ?? ".", "Dependencies");

    /// <summary>True on .NET Framework (Windows PowerShell 5.1), where there are no load contexts.</summary>
    public static bool IsNetFramework { get; } =
        RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase);

    public void OnImport()
    {
        if (IsNetFramework)
        {
            SharedAppDomainResolver.Register(DependencyDirectory);
        }
        else
        {
            RegisterIsolated();
        }
    }

    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        if (IsNetFramework)
        {
            SharedAppDomainResolver.Unregister();
        }
        else
        {
            UnregisterIsolated();
        }
    }

    /// <summary>Where the engine was loaded ("isolated", "shared" or "default"), for diagnostics and tests.</summary>
    public static string EngineLoad => IsNetFramework ? "shared" : DescribeIsolated();

    // Separate, never-inlined methods: .NET Framework never compiles a method that names AssemblyLoadContext.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RegisterIsolated() => IsolatedResolver.Register(DependencyDirectory);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void UnregisterIsolated() => IsolatedResolver.Unregister();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string DescribeIsolated() => IsolatedResolver.Describe();
}
