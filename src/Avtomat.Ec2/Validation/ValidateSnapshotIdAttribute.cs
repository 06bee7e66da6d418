using System;
using System.Management.Automation;
using System.Text.RegularExpressions;

namespace Avtomat.Ec2.Validation;

/// <summary>Validates EC2 resource ids (a string or each element of a string[]) with an actionable message.</summary>
public abstract class ValidateEc2IdAttribute : ValidateEnumeratedArgumentsAttribute
{
    private readonly Regex _pattern;
    private readonly string _prefix;
    private readonly string _example;
    private readonly string _what;
    private readonly string _producer;

    /// <remarks>producer: a cmdlet whose output carries the id, named in the message.</remarks>
    protected ValidateEc2IdAttribute(string prefix, string example, string what, string producer = "Get-EC2Snapshot")
    {
        _producer = producer;
        _prefix = prefix;
        _example = example;
        _what = what;
        // The prefix, then 8 (older resources) or 17 hex digits.
        _pattern = new Regex("^" + Regex.Escape(prefix) + "([0-9a-f]{8}|[0-9a-f]{17})$", RegexOptions.CultureInvariant);
    }

    /// <summary>True when <paramref name="value"/> is a well-formed id.</summary>
    public bool IsValid(string? value) => value != null && _pattern.IsMatch(value);

    protected override void ValidateElement(object element)
    {
        var value = element is PSObject pso ? pso.BaseObject : element;
        var text = value as string ?? value?.ToString();
        if (IsValid(text)) return;
        throw new ValidationMetadataException(
            $"'{text}' is not {_what}. {Capitalize(_what)}s look like '{_example}': '{_prefix}' followed by 8 or 17 lower-case hexadecimal digits. "
            + $"To pass objects (for example from {_producer}), pipe them in so their id property binds.");
    }

    private static string Capitalize(string what)
    {
        var noun = what.StartsWith("an ", StringComparison.Ordinal) ? what.Substring(3) : what.StartsWith("a ", StringComparison.Ordinal) ? what.Substring(2) : what;
        return noun.Length == 0 ? noun : char.ToUpperInvariant(noun[0]) + noun.Substring(1);
    }
}

/// <summary>A snapshot id: <c>snap-</c> followed by 8 or 17 hexadecimal digits.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateSnapshotIdAttribute : ValidateEc2IdAttribute
{
    public ValidateSnapshotIdAttribute() : base("snap-", "snap-0123456789abcdef0", "a snapshot id") { }
}

/// <summary>A volume id: <c>vol-</c> followed by 8 or 17 hexadecimal digits.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateVolumeIdAttribute : ValidateEc2IdAttribute
{
    public ValidateVolumeIdAttribute() : base("vol-", "vol-0123456789abcdef0", "a volume id", "Get-EC2Volume") { }
}

/// <summary>An instance id: <c>i-</c> followed by 8 or 17 hexadecimal digits.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateInstanceIdAttribute : ValidateEc2IdAttribute
{
    public ValidateInstanceIdAttribute() : base("i-", "i-0123456789abcdef0", "an instance id", "Get-EC2Instance") { }
}
