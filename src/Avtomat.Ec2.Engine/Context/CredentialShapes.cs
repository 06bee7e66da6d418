using System;
using System.Reflection;
using Amazon.Runtime;

namespace Avtomat.Ec2.Engine.Context;

/// <summary>
/// Reads credentials objects by shape, never by type identity, because <c>-Credential</c> and
/// <c>$StoredAWSCredentials</c> may come from another AWSSDK / AWS.Tools load (same names, other types):
/// (a) our own <see cref="AWSCredentials"/> ⇒ as is; (b) an AWSPSCredentials-like object (an instance property named
/// <c>Credentials</c>, non-public in AWS Tools) ⇒ unwrapped; (c) anything with a public parameterless
/// <c>GetCredentials()</c> returning AccessKey/SecretKey/Token ⇒ wrapped so every use calls it again (refreshable).
/// </summary>
internal static class CredentialShapes
{
    private const int MaxDepth = 4;

    /// <summary>The credentials <paramref name="value"/> stands for, or null when it has none of the shapes.</summary>
    public static AWSCredentials? TryRead(object? value) => TryRead(value, 0);

    private static AWSCredentials? TryRead(object? value, int depth)
    {
        value = Unwrap(value);
        if (value is null || depth > MaxDepth) return null;
        if (value is AWSCredentials ours) return ours;

        var type = value.GetType();
        var wrapped = FindCredentialsProperty(type);
        if (wrapped != null)
        {
            object? inner = null;
            try { inner = wrapped.GetValue(value, null); }
            catch (TargetInvocationException) { }
            var unwrapped = TryRead(inner, depth + 1);
            if (unwrapped != null) return unwrapped;
        }

        var method = type.GetMethod("GetCredentials", BindingFlags.Public | BindingFlags.Instance, null, Type.EmptyTypes, null);
        if (method != null && (method.ReturnType == typeof(object) || ShapedAWSCredentials.HasCredentialShape(method.ReturnType)))
            return new ShapedAWSCredentials(value, method);
        return null;
    }

    /// <summary>PSObject-wrapped values: the base object. Read by shape (the engine has no PowerShell reference): a
    /// System.Management.Automation.PSObject gives its BaseObject, unless that is a PSCustomObject (then the wrapper is
    /// the value).</summary>
    public static object? Unwrap(object? value)
    {
        for (var depth = 0; value != null && depth < MaxDepth; depth++)
        {
            var type = value.GetType();
            if (type.FullName != "System.Management.Automation.PSObject") return value;
            var inner = type.GetProperty("BaseObject", BindingFlags.Public | BindingFlags.Instance)?.GetValue(value, null);
            if (inner is null || ReferenceEquals(inner, value) || inner.GetType().FullName == "System.Management.Automation.PSCustomObject") return value;
            value = inner;
        }
        return value;
    }

    private static PropertyInfo? FindCredentialsProperty(Type type)
    {
        // AWS Tools' AWSPSCredentials keeps it non-public; accept a public one too (e.g. wrappers of our own).
        for (var t = type; t != null && t != typeof(object); t = t.BaseType)
        {
            var p = t.GetProperty("Credentials", BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly);
            if (p != null && p.CanRead && p.GetIndexParameters().Length == 0) return p;
        }
        return null;
    }
}

/// <summary>
/// Credentials of a foreign shape: calls the source's <c>GetCredentials()</c> on every use (never a snapshot), so an
/// assumed-role or otherwise refreshing credentials object of another AWSSDK load keeps renewing itself.
/// </summary>
internal sealed class ShapedAWSCredentials : AWSCredentials
{
    private readonly object _source;
    private readonly MethodInfo _getCredentials;

    public ShapedAWSCredentials(object source, MethodInfo getCredentials)
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _getCredentials = getCredentials ?? throw new ArgumentNullException(nameof(getCredentials));
    }

    /// <summary>The type name of the wrapped object (for messages; never its keys).</summary>
    public string SourceTypeName => _source.GetType().FullName ?? _source.GetType().Name;

    public static bool HasCredentialShape(Type type) =>
        typeof(ImmutableCredentials).IsAssignableFrom(type)
        || (Readable(type, "AccessKey") && Readable(type, "SecretKey"));

    public override ImmutableCredentials GetCredentials()
    {
        object? result;
        try
        {
            result = _getCredentials.Invoke(_source, null);
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            throw new AmazonClientException($"The credentials object of type {SourceTypeName} failed to return credentials: {e.InnerException.GetType().Name}.", e.InnerException);
        }
        if (result is null) throw new AmazonClientException($"The credentials object of type {SourceTypeName} returned no credentials.");
        if (result is ImmutableCredentials ours) return ours;

        var type = result.GetType();
        var accessKey = Read(result, type, "AccessKey");
        var secretKey = Read(result, type, "SecretKey");
        var token = Read(result, type, "Token");
        var accountId = Read(result, type, "AccountId");
        if (string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey))
            throw new AmazonClientException($"The credentials object of type {SourceTypeName} returned no access key or secret key.");
        return string.IsNullOrEmpty(accountId)
            ? new ImmutableCredentials(accessKey, secretKey, token)
            : new ImmutableCredentials(accessKey, secretKey, token, accountId);
    }

    public override string ToString() => $"{nameof(ShapedAWSCredentials)}({SourceTypeName})";

    private static bool Readable(Type type, string name)
    {
        var p = type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
        return p != null && p.CanRead && p.GetIndexParameters().Length == 0;
    }

    private static string? Read(object value, Type type, string name)
    {
        var p = type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance);
        if (p == null || !p.CanRead || p.GetIndexParameters().Length != 0) return null;
        return p.GetValue(value, null) as string;
    }
}
