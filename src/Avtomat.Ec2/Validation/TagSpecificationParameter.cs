using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;

namespace Avtomat.Ec2.Validation;

/// <summary>
/// Reads -TagSpecification by shape, as AWS.Tools users pass it: Amazon.EC2.Model.TagSpecification objects (of any AWSSDK
/// load; never referenced here), or hashtables and [pscustomobject]s shaped like them, e.g.
/// <c>@{ ResourceType = 'snapshot'; Tags = @(@{ Key = 'Team'; Value = 'db' }) }</c>. Each tag is anything with a Key and
/// a Value (Amazon.EC2.Model.Tag, a hashtable, a [pscustomobject]). ResourceType must be <c>snapshot</c> (any case);
/// left out, it is taken as snapshot, the only resource these cmdlets make.
/// </summary>
internal static class TagSpecificationParameter
{
    public const string ParameterName = "TagSpecification";
    public const string Example = "@{ ResourceType = 'snapshot'; Tags = @(@{ Key = 'Team'; Value = 'db' }) }";

    /// <summary>The tags of every specification, in order, as (key, value, "TagSpecification") entries; a shape that is not
    /// a tag specification, or another resource type, is an InvalidArgument <see cref="ParameterValueException"/>.</summary>
    public static IEnumerable<TagEntry> Read(object[]? specifications)
    {
        if (specifications is null)
        {
            yield break;
        }
        foreach (var specification in specifications)
        {
            if (Unwrap(specification) is null)
            {
                continue;
            }
            var resourceType = Text(Member(specification, "ResourceType"));
            if (!string.IsNullOrWhiteSpace(resourceType) && !resourceType!.Trim().Equals("snapshot", StringComparison.OrdinalIgnoreCase))
            {
                throw TagParameter.Invalid("TagSpecificationResourceType", ParameterName, resourceType,
                    $"-TagSpecification is for the resource type '{resourceType}', but these cmdlets make snapshots: only ResourceType 'snapshot' applies.",
                    $"Use ResourceType = 'snapshot' (for example -TagSpecification {Example}), or pass the tags as -Tag @{{ Team = 'db' }}.");
            }
            var tags = Member(specification, "Tags") ?? Member(specification, "Tag");
            if (tags is null)
            {
                throw TagParameter.Invalid("InvalidTagSpecification", ParameterName, specification,
                    $"-TagSpecification got {Describe(specification)}, which has no Tags: a tag specification has a ResourceType and a list of Tags, each with a Key and a Value.",
                    $"Pass an Amazon.EC2.Model.TagSpecification, or a hashtable like {Example}; or pass the tags as -Tag @{{ Team = 'db' }}.");
            }
            foreach (var tag in Items(tags))
            {
                var key = Member(tag, "Key");
                if (key is null)
                {
                    throw TagParameter.Invalid("InvalidTagSpecification", ParameterName, tag,
                        $"A tag in -TagSpecification ({Describe(tag)}) has no Key: each tag has a Key and a Value.",
                        $"Write each tag as @{{ Key = 'Team'; Value = 'db' }} (or an Amazon.EC2.Model.Tag), e.g. -TagSpecification {Example}.");
                }
                yield return new TagEntry(key, Member(tag, "Value"), ParameterName);
            }
        }
    }

    /// <summary>A member by name, case-insensitively: a dictionary key, else a property (of any object, read through
    /// PowerShell's adapters, so SDK objects of any load and [pscustomobject]s work alike).</summary>
    private static object? Member(object? item, string name)
    {
        var value = Unwrap(item);
        if (value is null)
        {
            return null;
        }
        if (value is IDictionary dictionary)
        {
            foreach (DictionaryEntry entry in dictionary)
            {
                if (string.Equals(Text(entry.Key), name, StringComparison.OrdinalIgnoreCase))
                {
                    return Unwrap(entry.Value);
                }
            }
            return null;
        }
        return Unwrap(PSObject.AsPSObject(item!).Properties[name]?.Value);
    }

    /// <summary>The items of a Tags value: a list, or one tag on its own (a dictionary counts as one tag).</summary>
    private static IEnumerable<object?> Items(object tags)
    {
        var value = Unwrap(tags);
        if (value is IDictionary || value is string)
        {
            yield return tags;
            yield break;
        }
        var enumerable = LanguagePrimitives.GetEnumerable(value);
        if (enumerable is null)
        {
            yield return tags;
            yield break;
        }
        foreach (var item in enumerable)
        {
            yield return item;
        }
    }

    private static object? Unwrap(object? value) => value is PSObject pso && pso.BaseObject is not PSCustomObject ? pso.BaseObject : value;

    /// <summary>Text of a value: a string, a ConstantClass of the SDK (its ToString is the value), anything else converted.</summary>
    private static string? Text(object? value) =>
        Unwrap(value) switch
        {
            null => null,
            string s => s,
            var other => LanguagePrimitives.ConvertTo<string>(other),
        };

    private static string Describe(object? value) =>
        Unwrap(value) switch
        {
            null => "$null",
            PSObject { BaseObject: PSCustomObject } => "a [pscustomobject]",
            IDictionary => "a hashtable",
            string s => $"the text '{s}'",
            var other => $"a {other.GetType().FullName}",
        };
}
