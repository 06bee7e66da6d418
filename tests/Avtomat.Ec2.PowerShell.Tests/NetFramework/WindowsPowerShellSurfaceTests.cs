using System.Reflection;
using System.Reflection.Metadata;

namespace Avtomat.Ec2.PowerShell.Tests.NetFramework;

/// <summary>
/// Windows PowerShell 5.1 audit, metadata half (the compile half is tests/Avtomat.Ec2.NetFramework.Audit). We cannot run
/// 5.1, so this checks the built module folder against what a 5.1 process binds to: the .NET Framework 4.7.2 reference
/// assemblies (with the netstandard.dll facade that forwards netstandard2.0 types to mscorlib, System, System.Core …),
/// PowerShell Standard 5.1's System.Management.Automation, and the module's own files (root and Dependencies/, which
/// the loader's AssemblyResolve handler serves on 5.1). Every assembly reference of every shipped file must bind, and
/// every type and member our three assemblies use must exist there with the same signature: what would otherwise be a
/// FileNotFoundException, TypeLoadException or MissingMethodException on 5.1.
/// </summary>
public sealed class WindowsPowerShellSurfaceTests : IDisposable
{
    /// <summary>AssemblyLoadContext's assembly: no .NET Framework implementation, so only PowerShell 7 code may use it.</summary>
    private const string LoaderOnlyOnCore = "System.Runtime.Loader";
    /// <summary>The only types that may name it: internal, reached only from the never-inlined PowerShell 7 branch of
    /// ModuleDependencies (PowerShell's scan of exported types never loads them on 5.1).</summary>
    private static readonly string[] CoreOnlyTypes = { "Avtomat.Ec2.Loader.IsolatedResolver", "Avtomat.Ec2.Loader.ModuleLoadContext" };
    private static readonly string[] OurAssemblies = { "Avtomat.Ec2", "Avtomat.Ec2.Loader", "Avtomat.Ec2.Engine" };

    private readonly ReferenceSurface _surface = new();
    private readonly IReadOnlyList<ReferenceSurface.Entry> _shipped;

    public WindowsPowerShellSurfaceTests()
    {
        var metadata = typeof(WindowsPowerShellSurfaceTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .ToDictionary(a => a.Key, a => a.Value!);
        var framework = metadata["NetFramework472ReferenceDirectory"];
        var moduleDirectory = Path.GetDirectoryName(metadata["ModuleManifestPath"])!;
        Assert.True(File.Exists(Path.Combine(framework, "mscorlib.dll")), $"No .NET Framework 4.7.2 reference assemblies in {framework}");
        Assert.True(File.Exists(Path.Combine(framework, "Facades", "netstandard.dll")), "No netstandard facade for net472");
        _surface.Add(Directory.GetFiles(framework, "*.dll").Concat(Directory.GetFiles(Path.Combine(framework, "Facades"), "*.dll")),
            ".NET Framework 4.7.2");
        _surface.Add(new[] { metadata["WindowsPowerShellSmaPath"] }, "Windows PowerShell 5.1");
        // LoaderOnlyOnCore's reference assembly too, so its uses resolve and can be told apart from real gaps.
        _surface.Add(new[] { metadata["SystemRuntimeLoaderReferencePath"] }, "PowerShell 7 only");
        _shipped = _surface.Add(Directory.GetFiles(moduleDirectory, "*.dll").Concat(Directory.GetFiles(Path.Combine(moduleDirectory, "Dependencies"), "*.dll")),
            "module folder");
        Assert.Contains(_shipped, e => e.Name == "AWSSDK.EC2");
        Assert.Contains(_shipped, e => e.Name == "Avtomat.Ec2.Engine");
    }

    public void Dispose() => _surface.Dispose();

    [Fact]
    public void Every_assembly_reference_of_every_shipped_file_binds_on_net472()
    {
        var problems = new List<string>();
        foreach (var assembly in _shipped)
        {
            var r = assembly.Reader;
            foreach (var h in r.AssemblyReferences)
            {
                var target = _surface.ResolveAssembly(r, h, out var why);
                if (target is null) problems.Add($"{assembly.Name}: {why}");
                else if (target.Origin == "PowerShell 7 only" && assembly.Name != "Avtomat.Ec2.Loader")
                    problems.Add($"{assembly.Name}: references {LoaderOnlyOnCore}, which .NET Framework does not implement");
            }
        }
        Assert.True(problems.Count == 0, "Would not bind on Windows PowerShell 5.1:\n" + string.Join("\n", problems.Distinct()));
    }

    [Fact]
    public void Every_type_and_member_our_assemblies_use_exists_on_net472()
    {
        var problems = new List<string>();
        var checkedMembers = 0;
        foreach (var assembly in _shipped.Where(e => OurAssemblies.Contains(e.Name)))
            checkedMembers += Check(assembly, problems);
        Assert.True(problems.Count == 0, "Missing on Windows PowerShell 5.1:\n" + string.Join("\n", problems.Distinct()));
        Assert.True(checkedMembers > 500, $"Only {checkedMembers} member references checked: the audit is not reading the assemblies");
    }

    [Fact]
    public void Every_type_and_member_the_shipped_dependencies_use_exists_on_net472()
    {
        // AWSSDK.* and the polyfills as shipped (their netstandard2.0 builds), against the framework and each other.
        var problems = new List<string>();
        foreach (var assembly in _shipped.Where(e => !OurAssemblies.Contains(e.Name)))
            Check(assembly, problems);
        Assert.True(problems.Count == 0, "Missing on Windows PowerShell 5.1:\n" + string.Join("\n", problems.Distinct().Take(50)));
    }

    [Fact]
    public void AssemblyLoadContext_is_named_only_by_the_PowerShell_7_types_of_the_loader()
    {
        var loader = _shipped.Single(e => e.Name == "Avtomat.Ec2.Loader");
        var r = loader.Reader;
        var coreOnly = new List<string>();
        foreach (var (type, method, token) in IlTokens.Of(loader.PE, r))
        {
            if (!UsesCoreOnly(loader, token)) continue;
            coreOnly.Add($"{type}::{method}");
        }
        Assert.NotEmpty(coreOnly); // IsolatedResolver does use it: proves the scan sees the uses.
        Assert.All(coreOnly, use => Assert.True(CoreOnlyTypes.Any(t => use.StartsWith(t, StringComparison.Ordinal)),
            $"{use} names {LoaderOnlyOnCore}, which Windows PowerShell 5.1 does not have"));
        // Types whose shape (base type) needs it are internal: PowerShell's scan of exported types never loads them.
        foreach (var h in r.TypeDefinitions)
        {
            var def = r.GetTypeDefinition(h);
            var isPublic = (def.Attributes & TypeAttributes.VisibilityMask) is TypeAttributes.Public or TypeAttributes.NestedPublic;
            var baseType = _surface.BaseOf(new ReferenceSurface.TypeAt(loader, h), out _);
            if (baseType is { } b && b.Assembly.Name == LoaderOnlyOnCore)
            {
                Assert.False(isPublic, $"{ReferenceSurface.FullNameOf(r, h)} derives from a {LoaderOnlyOnCore} type and is public");
                Assert.Contains(ReferenceSurface.FullNameOf(r, h), CoreOnlyTypes);
            }
        }
    }

    private bool UsesCoreOnly(ReferenceSurface.Entry from, EntityHandle token)
    {
        var r = from.Reader;
        EntityHandle typeHandle = token.Kind switch
        {
            HandleKind.MemberReference => r.GetMemberReference((MemberReferenceHandle)token).Parent,
            HandleKind.TypeReference or HandleKind.TypeSpecification => token,
            HandleKind.MethodSpecification => r.GetMethodSpecification((MethodSpecificationHandle)token).Method is var m
                && m.Kind == HandleKind.MemberReference ? r.GetMemberReference((MemberReferenceHandle)m).Parent : default,
            _ => default,
        };
        if (typeHandle.IsNil || typeHandle.Kind == HandleKind.TypeDefinition) return false;
        return _surface.ResolveAny(from, typeHandle, out _) is { } t && t.Assembly.Name == LoaderOnlyOnCore;
    }

    /// <summary>Resolves every type and member reference of <paramref name="assembly"/>; returns the member count.</summary>
    private int Check(ReferenceSurface.Entry assembly, List<string> problems)
    {
        var r = assembly.Reader;
        foreach (var h in r.TypeReferences)
        {
            if (_surface.Resolve(assembly, h, out var why) is null)
                problems.Add($"{assembly.Name}: {ReferenceSurface.FullNameOf(r, h)}: {why}");
        }
        var members = 0;
        foreach (var h in r.MemberReferences)
        {
            var member = r.GetMemberReference(h);
            if (member.Parent.Kind is not (HandleKind.TypeReference or HandleKind.TypeSpecification)) continue;
            var parent = _surface.ResolveAny(assembly, member.Parent, out var why);
            if (parent is null)
            {
                if (why.Length > 0 && member.Parent.Kind == HandleKind.TypeReference) problems.Add($"{assembly.Name}: {why}");
                continue; // arrays and generic parameters: the runtime's own members
            }
            if (parent.Value.Assembly == assembly) continue;
            members++;
            var name = r.GetString(member.Name);
            var isField = member.GetKind() == MemberReferenceKind.Field;
            var signature = isField ? SignatureText.Field(r, member.Signature) : SignatureText.Method(r, member.Signature);
            if (!_surface.HasMember(parent.Value, name, signature, isField, out why))
                problems.Add($"{assembly.Name}: {why}");
        }
        return members;
    }
}
