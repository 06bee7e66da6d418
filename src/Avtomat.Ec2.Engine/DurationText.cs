using System;
using System.Globalization;

namespace Avtomat.Ec2.Engine;

/// <summary>How the module writes a length of time in messages and summaries: hh:mm:ss, with the days in front when
/// there are any (a 26-hour time-based copy is 1d 02:00:00, not 02:00:00).</summary>
public static class DurationText
{
    public static string Of(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero) duration = TimeSpan.Zero;
        var clock = duration.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);
        return duration.Days > 0 ? $"{duration.Days.ToString(CultureInfo.InvariantCulture)}d {clock}" : clock;
    }
}
