using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace Avtomat.Ec2.Context;

/// <summary>Completes AWS region names (from the SDK's list) with the display name as tooltip, matching the start of
/// the name ("us-w" → us-west-1, us-west-2) or, failing that, the display name ("oregon" → us-west-2).</summary>
public sealed class RegionCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = (wordToComplete ?? "").Trim('\'', '"');
        foreach (var region in RegionNames.Matching(word))
        {
            yield return new CompletionResult(region.Key, region.Key, CompletionResultType.ParameterValue, $"{region.Key} ({region.Value})");
        }
    }
}
