using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Amazon.EC2.Model;
using Avtomat.Ec2.Engine.Internal;

namespace Avtomat.Ec2.Engine.Create;

/// <summary>What the engine learns about a volume before snapshotting it, in batches: the volume (size, type, tags,
/// attachment), its snapshots that are pending or in error (they count against EC2's per-volume limit) and, when
/// attached, whether it is the root device of a running instance.</summary>
internal sealed class VolumeInfo
{
    public Volume Volume { get; set; } = null!;
    public string? InstanceId { get; set; }
    public string? Device { get; set; }
    public bool IsRoot { get; set; }
    public bool InstanceRunning { get; set; }
    public List<Snapshot> ActiveSnapshots { get; set; } = new();

    public string? Name => Volume.Tags?.FirstOrDefault(t => t.Key == "Name")?.Value;
    public bool IsThroughputOptimized => Volume.VolumeType?.Value is "st1" or "sc1";

    /// <summary>One batch: DescribeVolumes (volume-id filter), DescribeSnapshots (Owner self, volume-id and status
    /// pending|error filters) and DescribeInstances (instance-id filter) for the attached instances.</summary>
    public static async Task<Dictionary<string, VolumeInfo>> FetchAsync(CreateJob job, string region, List<string> volumeIds)
    {
        var client = job.Clients.For(region);
        var volumes = new List<Volume>();
        string? next = null;
        do
        {
            var request = new DescribeVolumesRequest { Filters = new List<Filter> { new() { Name = "volume-id", Values = volumeIds } }, NextToken = next };
            var response = await job.Calls.WithRetriesAsync("DescribeVolumes", region, ct => client.DescribeVolumesAsync(request, ct), job.StopToken, request).ConfigureAwait(false);
            volumes.AddRange(response.Volumes ?? new List<Volume>());
            next = response.NextToken;
        } while (!string.IsNullOrEmpty(next));

        var result = volumes.Where(v => v.VolumeId is not null).GroupBy(v => v.VolumeId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => new VolumeInfo { Volume = g.First() }, StringComparer.Ordinal);
        if (result.Count == 0) return result;

        if (!job.DryRun)
        {
            var snapshots = new List<Snapshot>();
            next = null;
            do
            {
                var request = new DescribeSnapshotsRequest
                {
                    OwnerIds = new List<string> { "self" },
                    Filters = new List<Filter>
                    {
                        new() { Name = "volume-id", Values = result.Keys.ToList() },
                        new() { Name = "status", Values = new List<string> { "pending", "error" } },
                    },
                    NextToken = next,
                };
                var response = await job.Calls.WithRetriesAsync("DescribeSnapshots", region, ct => client.DescribeSnapshotsAsync(request, ct), job.StopToken, request).ConfigureAwait(false);
                snapshots.AddRange(response.Snapshots ?? new List<Snapshot>());
                next = response.NextToken;
            } while (!string.IsNullOrEmpty(next));
            foreach (var s in snapshots)
                if (s.VolumeId is not null && result.TryGetValue(s.VolumeId, out var info)) info.ActiveSnapshots.Add(s);
        }

        foreach (var info in result.Values)
        {
            var attachment = info.Volume.Attachments?.FirstOrDefault(a => a.State?.Value is "attached" or "attaching" || a.State is null);
            info.InstanceId = attachment?.InstanceId;
            info.Device = attachment?.Device;
        }
        var instanceIds = result.Values.Select(i => i.InstanceId).Where(id => !string.IsNullOrEmpty(id)).Distinct(StringComparer.Ordinal).ToList();
        if (instanceIds.Count > 0)
        {
            try
            {
                var instances = await FetchInstancesAsync(job, region, instanceIds!).ConfigureAwait(false);
                foreach (var info in result.Values)
                {
                    if (info.InstanceId is null || !instances.TryGetValue(info.InstanceId, out var instance)) continue;
                    info.IsRoot = !string.IsNullOrEmpty(instance.RootDeviceName) && info.Device == instance.RootDeviceName;
                    info.InstanceRunning = instance.State?.Name?.Value == "running";
                }
            }
            catch (Exception ex) when (!job.StopToken.IsCancellationRequested)
            {
                // Only the root-volume warning depends on it: go on without.
                job.Verbose($"DescribeInstances in {region} failed ({FailurePolicy.Describe(ex)}); root volumes of running instances cannot be recognized.");
            }
        }
        return result;
    }

    /// <summary>DescribeInstances with the instance-id filter (missing ids are simply not returned).</summary>
    public static async Task<Dictionary<string, Instance>> FetchInstancesAsync(CreateJob job, string region, List<string> instanceIds)
    {
        var client = job.Clients.For(region);
        var result = new Dictionary<string, Instance>(StringComparer.Ordinal);
        string? next = null;
        do
        {
            var request = new DescribeInstancesRequest { Filters = new List<Filter> { new() { Name = "instance-id", Values = instanceIds } }, NextToken = next };
            var response = await job.Calls.WithRetriesAsync("DescribeInstances", region, ct => client.DescribeInstancesAsync(request, ct), job.StopToken, request).ConfigureAwait(false);
            foreach (var reservation in response.Reservations ?? new List<Reservation>())
                foreach (var instance in reservation.Instances ?? new List<Instance>())
                    if (instance.InstanceId is not null) result[instance.InstanceId] = instance;
            next = response.NextToken;
        } while (!string.IsNullOrEmpty(next));
        return result;
    }
}
