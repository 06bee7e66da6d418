using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using Avtomat.Ec2.Errors;

namespace Avtomat.Ec2.Validation;

/// <summary>Reads a -Tag hashtable into EC2 tags, with the rules EC2 and the module impose: non-empty keys of at most
/// 128 characters, values of at most 256, no reserved prefix (aws: belongs to AWS; avtomat: marks provenance, which
/// duplicate protection relies on), no key twice, and room left for the module's own provenance tags.</summary>
internal static class TagParameter
{
    /// <summary>Reserved tag prefixes: AWS's own, and the module's provenance tags.</summary>
    public static readonly string[] ReservedPrefixes = { "aws:", "avtomat:" };
    public const int MaxKeyLength = 128;
    public const int MaxValueLength = 256;
    /// <summary>EC2 allows 50 tags per resource.</summary>
    public const int MaxTagsPerResource = 50;

    /// <summary>The tags, or an InvalidArgument <see cref="ErrorRecord"/> (terminating, raised before any call).</summary>
    /// <param name="table">The -Tag value (null: no tags).</param>
    /// <param name="provenanceTags">How many tags the engine adds to each resource.</param>
    /// <param name="what">What gets the tags ("each copy", "each snapshot"), for the message.</param>
    /// <param name="parameterName">The parameter the tags came from.</param>
    public static Dictionary<string, string> Convert(Hashtable? table, int provenanceTags, string what, string parameterName = "Tag") =>
        Convert(Entries(table, parameterName), provenanceTags, what);

    /// <summary>The tags of -Tag and -TagSpecification together (a key given in both is a DuplicateTagKey error).</summary>
    public static Dictionary<string, string> Convert(Hashtable? table, object[]? tagSpecifications, int provenanceTags, string what) =>
        Convert(Entries(table, "Tag").Concat(TagSpecificationParameter.Read(tagSpecifications)), provenanceTags, what);

    /// <summary>A -Tag hashtable as (key, value, parameter) entries.</summary>
    private static IEnumerable<TagEntry> Entries(Hashtable? table, string parameterName)
    {
        if (table is null)
        {
            yield break;
        }
        foreach (DictionaryEntry entry in table)
        {
            yield return new TagEntry(entry.Key, entry.Value, parameterName);
        }
    }

    /// <summary>Checks and collects the entries (see the class summary).</summary>
    internal static Dictionary<string, string> Convert(IEnumerable<TagEntry> entries, int provenanceTags, string what)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        var parameterName = "Tag";
        foreach (var entry in entries)
        {
            parameterName = entry.Parameter;
            var key = entry.Key is PSObject pk ? pk.BaseObject?.ToString() : entry.Key?.ToString();
            var value = entry.Value is null ? "" : LanguagePrimitives.ConvertTo<string>(entry.Value) ?? "";
            if (string.IsNullOrWhiteSpace(key))
            {
                throw Invalid("InvalidTagKey", parameterName, key, "Tag keys must not be empty.");
            }
            var prefix = ReservedPrefixes.FirstOrDefault(p => key!.StartsWith(p, StringComparison.OrdinalIgnoreCase));
            if (prefix is not null)
            {
                throw Invalid("ReservedTagKey", parameterName, key,
                    $"The tag key '{key}' uses the reserved prefix '{prefix}' (aws: belongs to AWS; avtomat: marks the provenance of snapshots the module creates).",
                    "Choose a tag key without the aws: or avtomat: prefix.");
            }
            if (key!.Length > MaxKeyLength)
            {
                throw Invalid("InvalidTagKey", parameterName, key, $"The tag key '{key}' is longer than {MaxKeyLength} characters.");
            }
            if (value.Length > MaxValueLength)
            {
                throw Invalid("InvalidTagValue", parameterName, key, $"The value of the tag '{key}' is longer than {MaxValueLength} characters.");
            }
            if (tags.ContainsKey(key))
            {
                throw Invalid("DuplicateTagKey", parameterName, key, $"The tag key '{key}' is given twice (-Tag and -TagSpecification together hold each key once).");
            }
            tags.Add(key, value);
        }
        var max = MaxTagsPerResource - provenanceTags;
        if (tags.Count > max)
        {
            throw Invalid("TooManyTags", parameterName, tags.Count,
                $"{tags.Count} tags given; a snapshot holds {MaxTagsPerResource} and {what} also gets {provenanceTags} provenance tags, so at most {max}.");
        }
        return tags;
    }

    internal static ParameterValueException Invalid(string errorId, string parameterName, object? value, string message, string? recommendedAction = null) =>
        new(ErrorRecordFactory.InvalidParameter(errorId, parameterName, value, message, recommendedAction));
}

/// <summary>One tag as given: its key and value (any objects, read as text) and the parameter it came from.</summary>
internal readonly struct TagEntry(object? key, object? value, string parameter)
{
    public object? Key { get; } = key;
    public object? Value { get; } = value;
    public string Parameter { get; } = parameter;
}

/// <summary>Carries the terminating error for a parameter value that can never work; the cmdlet rethrows its record
/// with ThrowTerminatingError.</summary>
internal sealed class ParameterValueException(ErrorRecord errorRecord) : Exception(errorRecord.ErrorDetails?.Message ?? errorRecord.ToString())
{
    public ErrorRecord ErrorRecord { get; } = errorRecord;
}
