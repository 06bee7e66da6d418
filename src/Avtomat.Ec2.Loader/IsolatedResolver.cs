using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace Avtomat.Ec2.Loader;

/// <summary>PowerShell 7: the default context resolves only our engine, and does so by loading it into
/// <see cref="ModuleLoadContext"/>, which then loads the engine's AWSSDK copy beside it. Only touched on .NET (Core),
/// so .NET Framework never needs System.Runtime.Loader.</summary>
internal static class IsolatedResolver
{
    internal const string EngineAssemblyName = "Avtomat.Ec2.Engine";

    private static readonly object Gate = new();
    private static ModuleLoadContext? _context;
    private static bool _registered;

    public static void Register(string dependencyDirectory)
    {
        lock (Gate)
        {
            _context ??= new ModuleLoadContext(dependencyDirectory);
            if (_registered) return;
            AssemblyLoadContext.Default.Resolving += ResolveEngine;
            _registered = true;
        }
    }

    public static void Unregister()
    {
        lock (Gate)
        {
            if (!_registered) return;
            AssemblyLoadContext.Default.Resolving -= ResolveEngine;
            _registered = false;
        }
    }

    public static string Describe()
    {
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (assembly.GetName().Name != EngineAssemblyName) continue;
            var context = AssemblyLoadContext.GetLoadContext(assembly);
            return context is ModuleLoadContext ? "isolated" : context == AssemblyLoadContext.Default ? "default" : "other";
        }
        return "not loaded";
    }

    private static Assembly? ResolveEngine(AssemblyLoadContext defaultContext, AssemblyName name)
    {
        // Everything else the cmdlet assembly needs is PowerShell's or the runtime's.
        if (!string.Equals(name.Name, EngineAssemblyName, StringComparison.Ordinal)) return null;
        var context = _context;
        return context?.LoadFromAssemblyName(name);
    }
}

/// <summary>The module's own load context: the engine, every AWSSDK assembly and any other dependency the runtime does
/// not provide come from <c>Dependencies/</c>; what the runtime provides (System.Text.Json, System.Memory, … at least
/// the version asked for) comes from the default context, so framework types stay one type.</summary>
internal sealed class ModuleLoadContext : AssemblyLoadContext
{
    private readonly string _directory;
    private readonly Lazy<Dictionary<string, string>> _platform = new(ReadPlatformAssemblies);

    public ModuleLoadContext(string directory) => _directory = directory;

    protected override Assembly? Load(AssemblyName name)
    {
        if (string.IsNullOrEmpty(name.Name)) return null;
        var path = Path.Combine(_directory, name.Name + ".dll");
        var ours = File.Exists(path);
        var alwaysOurs = name.Name == IsolatedResolver.EngineAssemblyName
            || name.Name!.StartsWith("AWSSDK.", StringComparison.OrdinalIgnoreCase);
        if (ours && (alwaysOurs || !PlatformProvides(name))) return LoadFromAssemblyPath(path);
        return null;
    }

    private bool PlatformProvides(AssemblyName name)
    {
        if (!_platform.Value.TryGetValue(name.Name!, out var path)) return false;
        try
        {
            var version = AssemblyName.GetAssemblyName(path).Version;
            return name.Version is null || (version is not null && version >= name.Version);
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static Dictionary<string, string> ReadPlatformAssemblies()
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string list)
        {
            foreach (var path in list.Split(Path.PathSeparator))
            {
                if (path.Length > 0) map[Path.GetFileNameWithoutExtension(path)] = path;
            }
        }
        return map;
    }
}
