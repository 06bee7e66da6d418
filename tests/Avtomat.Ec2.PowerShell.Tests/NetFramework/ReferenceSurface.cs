using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Avtomat.Ec2.PowerShell.Tests.NetFramework;

/// <summary>
/// A set of assemblies a process could bind to (reference or real), read with System.Reflection.Metadata only (nothing is
/// loaded): resolves assembly references by name and version, type references through type forwarders (the netstandard
/// facade forwards to mscorlib, System, System.Core …), and member references by name and signature along the base
/// types. What does not resolve is what the runtime would answer with FileNotFound/TypeLoad/MissingMember.
/// </summary>
internal sealed class ReferenceSurface : IDisposable
{
    private readonly Dictionary<string, List<Entry>> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<PEReader> _readers = new();

    internal sealed record Entry(string Name, Version Version, string Path, string Origin, MetadataReader Reader, PEReader PE);

    /// <summary>Adds every assembly in <paramref name="paths"/>, after those added before (which bind first).</summary>
    public IReadOnlyList<Entry> Add(IEnumerable<string> paths, string origin)
    {
        var added = new List<Entry>();
        foreach (var path in paths)
        {
            var pe = new PEReader(File.OpenRead(path));
            if (!pe.HasMetadata) { pe.Dispose(); continue; }
            var reader = pe.GetMetadataReader();
            if (!reader.IsAssembly) { pe.Dispose(); continue; }
            _readers.Add(pe);
            var def = reader.GetAssemblyDefinition();
            var name = reader.GetString(def.Name);
            var entry = new Entry(name, def.Version, path, origin, reader, pe);
            if (!_byName.TryGetValue(name, out var list)) _byName[name] = list = new List<Entry>();
            list.Add(entry);
            added.Add(entry);
        }
        return added;
    }

    public void Dispose()
    {
        foreach (var r in _readers) r.Dispose();
    }

    /// <summary>A type definition found: the assembly that defines it and its handle there.</summary>
    internal readonly record struct TypeAt(Entry Assembly, TypeDefinitionHandle Handle)
    {
        public string FullName => FullNameOf(Assembly.Reader, Handle);
    }

    public static string FullNameOf(MetadataReader r, TypeDefinitionHandle h)
    {
        var t = r.GetTypeDefinition(h);
        var name = r.GetString(t.Name);
        var declaring = t.GetDeclaringType();
        if (!declaring.IsNil) return FullNameOf(r, declaring) + "/" + name;
        var ns = r.GetString(t.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    public static string FullNameOf(MetadataReader r, TypeReferenceHandle h)
    {
        var t = r.GetTypeReference(h);
        var name = r.GetString(t.Name);
        if (t.ResolutionScope.Kind == HandleKind.TypeReference) return FullNameOf(r, (TypeReferenceHandle)t.ResolutionScope) + "/" + name;
        var ns = r.GetString(t.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    /// <summary>Resolves a type reference of <paramref name="from"/> (null: unresolved; <paramref name="why"/> says why).</summary>
    public TypeAt? Resolve(Entry from, TypeReferenceHandle handle, out string why)
    {
        var r = from.Reader;
        var tr = r.GetTypeReference(handle);
        switch (tr.ResolutionScope.Kind)
        {
            case HandleKind.TypeReference:
                var outer = Resolve(from, (TypeReferenceHandle)tr.ResolutionScope, out why);
                if (outer is null) return null;
                var nested = FindNested(outer.Value, r.GetString(tr.Name));
                why = nested is null ? $"nested type {r.GetString(tr.Name)} not in {outer.Value.FullName}" : "";
                return nested;
            case HandleKind.AssemblyReference:
                var target = ResolveAssembly(r, (AssemblyReferenceHandle)tr.ResolutionScope, out why);
                if (target is null) return null;
                return FindTopLevel(target, r.GetString(tr.Namespace), r.GetString(tr.Name), out why, 0);
            case HandleKind.ModuleDefinition:
                var own = FindTopLevel(from, r.GetString(tr.Namespace), r.GetString(tr.Name), out why, 0);
                return own;
            default:
                why = "resolution scope " + tr.ResolutionScope.Kind;
                return null;
        }
    }

    /// <summary>How the .NET Framework binds an assembly reference here: the first assembly of that name (framework
    /// first, then the host's, then the module folder's) with at least the version asked for. A framework assembly
    /// unifies lower versions; a higher one is not in the GAC, so the load falls to the module's AssemblyResolve handler,
    /// which hands out the module folder's file.</summary>
    public Entry? ResolveAssembly(MetadataReader r, AssemblyReferenceHandle h, out string why)
    {
        var reference = r.GetAssemblyReference(h);
        var name = r.GetString(reference.Name);
        if (!_byName.TryGetValue(name, out var candidates))
        {
            why = $"assembly {name} {reference.Version} is not in the framework, the host or the module folder";
            return null;
        }
        foreach (var candidate in candidates)
        {
            if (candidate.Version >= reference.Version) { why = ""; return candidate; }
        }
        why = $"assembly {name} {reference.Version} wanted, only " + string.Join(", ", candidates.Select(c => $"{c.Version} ({c.Origin})")) + " available";
        return null;
    }

    private TypeAt? FindTopLevel(Entry asm, string ns, string name, out string why, int depth)
    {
        var r = asm.Reader;
        foreach (var h in r.TypeDefinitions)
        {
            var t = r.GetTypeDefinition(h);
            if (!t.GetDeclaringType().IsNil) continue;
            if (r.StringComparer.Equals(t.Name, name) && r.StringComparer.Equals(t.Namespace, ns)) { why = ""; return new TypeAt(asm, h); }
        }
        foreach (var h in r.ExportedTypes)
        {
            var e = r.GetExportedType(h);
            if (!r.StringComparer.Equals(e.Name, name) || !r.StringComparer.Equals(e.Namespace, ns)) continue;
            if (e.Implementation.Kind != HandleKind.AssemblyReference || depth > 8) break;
            var next = ResolveAssembly(r, (AssemblyReferenceHandle)e.Implementation, out why);
            if (next is null) { why = $"{ns}.{name} is forwarded by {asm.Name}, but {why}"; return null; }
            return FindTopLevel(next, ns, name, out why, depth + 1);
        }
        why = $"type {ns}.{name} is not in {asm.Name} {asm.Version} ({asm.Origin})";
        return null;
    }

    private static TypeAt? FindNested(TypeAt outer, string name)
    {
        var r = outer.Assembly.Reader;
        foreach (var h in r.GetTypeDefinition(outer.Handle).GetNestedTypes())
            if (r.StringComparer.Equals(r.GetTypeDefinition(h).Name, name)) return new TypeAt(outer.Assembly, h);
        return null;
    }

    /// <summary>The type a TypeDef/TypeRef/TypeSpec handle names (a generic instantiation: its definition).</summary>
    public TypeAt? ResolveAny(Entry from, EntityHandle handle, out string why)
    {
        switch (handle.Kind)
        {
            case HandleKind.TypeDefinition: why = ""; return new TypeAt(from, (TypeDefinitionHandle)handle);
            case HandleKind.TypeReference: return Resolve(from, (TypeReferenceHandle)handle, out why);
            case HandleKind.TypeSpecification:
                var spec = from.Reader.GetTypeSpecification((TypeSpecificationHandle)handle);
                var blob = from.Reader.GetBlobReader(spec.Signature);
                var code = blob.ReadSignatureTypeCode();
                if (code == SignatureTypeCode.GenericTypeInstance)
                {
                    blob.ReadSignatureTypeCode(); // class or valuetype
                    return ResolveAny(from, blob.ReadTypeHandle(), out why);
                }
                why = "array/pointer/generic parameter parent";
                return null; // members of arrays and generic parameters are the runtime's own
            default: why = handle.Kind.ToString(); return null;
        }
    }

    /// <summary>The base type of a definition (null for System.Object and interfaces).</summary>
    public TypeAt? BaseOf(TypeAt type, out string why)
    {
        var b = type.Assembly.Reader.GetTypeDefinition(type.Handle).BaseType;
        if (b.IsNil) { why = ""; return null; }
        return ResolveAny(type.Assembly, b, out why);
    }

    /// <summary>Whether <paramref name="type"/> or a base of it declares a method or field <paramref name="name"/> with
    /// the signature <paramref name="signature"/> (rendered by <see cref="SignatureText"/>).</summary>
    public bool HasMember(TypeAt type, string name, string signature, bool isField, out string why)
    {
        var current = (TypeAt?)type;
        for (var depth = 0; current is { } t && depth < 32; depth++)
        {
            var r = t.Assembly.Reader;
            var def = r.GetTypeDefinition(t.Handle);
            if (isField)
            {
                foreach (var fh in def.GetFields())
                {
                    var f = r.GetFieldDefinition(fh);
                    if (r.StringComparer.Equals(f.Name, name) && SignatureText.Field(r, f.Signature) == signature) { why = ""; return true; }
                }
            }
            else
            {
                foreach (var mh in def.GetMethods())
                {
                    var m = r.GetMethodDefinition(mh);
                    if (r.StringComparer.Equals(m.Name, name) && SignatureText.Method(r, m.Signature) == signature) { why = ""; return true; }
                }
            }
            current = BaseOf(t, out why);
            if (current is null && why.Length > 0) return false;
        }
        why = $"{(isField ? "field" : "method")} {type.FullName}::{name} {signature} not in {type.Assembly.Name} {type.Assembly.Version} ({type.Assembly.Origin})";
        return false;
    }
}

/// <summary>Renders signatures as text that does not depend on which assembly defines a type (a forwarded type is the
/// same type), so a member reference compares with the definition it binds to.</summary>
internal static class SignatureText
{
    public static string Method(MetadataReader r, BlobHandle blob)
    {
        var s = r.GetBlobReader(blob);
        var decoder = new SignatureDecoder<string, object?>(Provider.Instance, r, null);
        var m = decoder.DecodeMethodSignature(ref s);
        return $"{(m.Header.IsInstance ? "instance " : "")}{m.ReturnType} `{m.GenericParameterCount}({string.Join(",", m.ParameterTypes)})";
    }

    public static string Field(MetadataReader r, BlobHandle blob)
    {
        var s = r.GetBlobReader(blob);
        return new SignatureDecoder<string, object?>(Provider.Instance, r, null).DecodeFieldSignature(ref s);
    }

    private sealed class Provider : ISignatureTypeProvider<string, object?>
    {
        public static readonly Provider Instance = new();
        public string GetArrayType(string e, ArrayShape shape) => e + "[" + new string(',', shape.Rank - 1) + "]";
        public string GetByReferenceType(string e) => e + "&";
        public string GetFunctionPointerType(MethodSignature<string> s) => "fnptr";
        public string GetGenericInstantiation(string g, ImmutableArray<string> a) => g + "<" + string.Join(",", a) + ">";
        public string GetGenericMethodParameter(object? c, int i) => "!!" + i;
        public string GetGenericTypeParameter(object? c, int i) => "!" + i;
        public string GetModifiedType(string modifier, string unmodified, bool isRequired) => unmodified + (isRequired ? " modreq(" + modifier + ")" : "");
        public string GetPinnedType(string e) => e;
        public string GetPointerType(string e) => e + "*";
        public string GetPrimitiveType(PrimitiveTypeCode t) => t.ToString();
        public string GetSZArrayType(string e) => e + "[]";
        public string GetTypeFromDefinition(MetadataReader r, TypeDefinitionHandle h, byte k) => ReferenceSurface.FullNameOf(r, h);
        public string GetTypeFromReference(MetadataReader r, TypeReferenceHandle h, byte k) => ReferenceSurface.FullNameOf(r, h);
        public string GetTypeFromSpecification(MetadataReader r, object? c, TypeSpecificationHandle h, byte k) =>
            r.GetTypeSpecification(h).DecodeSignature(this, c);
    }
}

/// <summary>Which methods of an assembly use which metadata tokens: the IL of every method body, decoded with the
/// runtime's own opcode table.</summary>
internal static class IlTokens
{
    private static readonly Dictionary<short, OperandType> Operands = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value, o => o.OperandType);

    /// <summary>(method's declaring type full name, method name, token handle) for every token operand.</summary>
    public static IEnumerable<(string Type, string Method, EntityHandle Token)> Of(PEReader pe, MetadataReader r)
    {
        foreach (var th in r.TypeDefinitions)
        {
            var typeName = ReferenceSurface.FullNameOf(r, th);
            foreach (var mh in r.GetTypeDefinition(th).GetMethods())
            {
                var m = r.GetMethodDefinition(mh);
                if (m.RelativeVirtualAddress == 0) continue;
                var il = pe.GetMethodBody(m.RelativeVirtualAddress).GetILReader();
                while (il.RemainingBytes > 0)
                {
                    short code = il.ReadByte();
                    if (code == 0xFE) code = unchecked((short)(0xFE00 | il.ReadByte()));
                    var operand = Operands[code];
                    switch (operand)
                    {
                        case OperandType.InlineNone: break;
                        case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: il.ReadByte(); break;
                        case OperandType.InlineVar: il.ReadInt16(); break;
                        case OperandType.InlineI8 or OperandType.InlineR: il.ReadInt64(); break;
                        case OperandType.InlineSwitch: var n = il.ReadInt32(); for (var i = 0; i < n; i++) il.ReadInt32(); break;
                        case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                            var token = il.ReadInt32();
                            yield return (typeName, r.GetString(m.Name), MetadataTokens.EntityHandle(token));
                            break;
                        default: il.ReadInt32(); break; // InlineBrTarget, InlineI, InlineSig, InlineString, ShortInlineR is 4 too
                    }
                }
            }
        }
    }
}
