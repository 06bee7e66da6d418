using Microsoft.Extensions.Configuration;
using System.Runtime.InteropServices;

namespace Avtomat.Ec2.Emulator;

/// <summary><c>dotnet run --project tests/Avtomat.Ec2.Emulator -- --port 4566</c>: prints the base URL alone on the
/// first line of stdout, then serves until Ctrl+C or SIGTERM.</summary>
internal static class Program
{
    private const string Usage = """
        Avtomat.Ec2.Emulator - an EC2 Query-protocol emulator on 127.0.0.1 (snapshots, copies, volumes, instances, regions).

        Usage: dotnet run --project tests/Avtomat.Ec2.Emulator -- [options]

          --port N                 TCP port on 127.0.0.1 (0 = a free one; default 0). Same as --Port N.
          --config FILE.json       Read settings from a JSON file shaped like EmulatorOptions (flags override it).
          --RandomSeed N           Seed for durations, progress jumps and faults.
          --DefaultAccountId ID    Account of access keys not listed in Accounts.
          --Accounts:AKID ID       Map an access key id to an account id.
          --Regions:0 R ...        Regions served (replaces the default list).
          --Config:...             Run-time settings, e.g.
                                     --Config:Durations:Copy:Kind LogNormal --Config:Durations:Copy:Seconds 600
                                     --Config:Limits:MaxPendingCopiesPerRegion 20 --Config:Limits:RequestRateLimits false
                                     --Config:Faults:DropAfterActionRate 0.1 --Config:Faults:Actions:0 CopySnapshot
                                     --Config:Credentials:ExpiredAccessKeys:0 AKID --Config:Credentials:InvalidAccessKeys:0 AKID
                                     --Config:Credentials:DeniedActions:AKID:0 CopySnapshot (or *)
                                     --Config:Credentials:OptInRequiredRegions:0 af-south-1
                                     --Config:Credentials:IssuedLifetimeSeconds 60 (STS-issued credentials expire in a minute)
                                     --Config:Credentials:DeniedRoles:0 arn:aws:iam::222222222222:role/NAME (or *)
                                     --Config:Credentials:RejectedWebIdentityTokens:0 TOKEN (or *)
                                     --Config:Credentials:RejectedSsoTokens:0 TOKEN (or *: SSO GetRoleCredentials 401)
          --help                   Show this text.

        The first line of stdout is the base URL (use it as --endpoint-url / ServiceURL). Calls signed for the service
        sts, and unsigned calls naming an STS action, are STS (GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity)
        at the same URL: point SDKs at it with AWS_ENDPOINT_URL_STS. Issued credentials act in the role's account.
        An unsigned GET /federation/credentials is the SSO portal's GetRoleCredentials (AWS_ENDPOINT_URL_SSO): any
        non-empty x-amz-sso_bearer_token is accepted; the credentials act in account_id.
        Control API (JSON): GET /_emulator/health, POST /_emulator/reset, POST /_emulator/seed,
        GET|PUT /_emulator/config, GET /_emulator/stats,
        GET /_emulator/calls[?action=A&region=R&account=ID] (the latest EC2/STS calls: parameters, clock time, outcome;
          --CallLogCapacity N keeps N, default 10000, 0 none),
        POST /_emulator/duplicate {"snapshotId": "snap-…", "afterSeconds": 0.01} (a silent duplicate, as a re-send
          nobody saw leaves; answers {"snapshotId": …}).
        Seed bodies may give "durationSeconds" (completed snapshots started that long ago; pending ones take that long)
        and "sourceSnapshotId"/"sourceRegion" (the snapshots are copies someone else started: pending ones count
        against the 20 concurrent copies), "accountId" (or "accessKeyId"), "encrypted", "kmsKeyId" (id, alias or ARN),
        "createVolumePermissionUserIds": ["210987654321", …] (already shared with those accounts) and "public": true.

        Accounts and sharing: each access key acts in one account (--Accounts:AKID ID, STS-issued keys in the role's).
        ModifySnapshotAttribute/DescribeSnapshotAttribute/ResetSnapshotAttribute keep each snapshot's
        createVolumePermission (owner only); DescribeSnapshots shows the caller's own, those shared with it and public
        ones (Owner.N, RestorableBy.N narrow it; tags only to the owner); CopySnapshot copies a shared source into the
        caller's account. Snapshots encrypted with alias/aws/ebs cannot be shared, encrypted ones cannot be public.
        KMS keys have an owner account. Every account-region has its AWS managed key alias/aws/ebs, usable only there.
        Any key id/alias/ARN of the caller's own account is usable; another account's key only when created and
        granted here. A copy whose source or destination key the caller may not use is accepted and ends in error
        "Given key ID is not accessible". Without KmsKeyId a copy of another account's encrypted snapshot gets the
        caller's own alias/aws/ebs.
          POST /_emulator/kms/keys {"accountId": "111122223333", "region": "us-east-1", "alias": "alias/shared"}
            creates a customer managed key (alias optional; it is the key that alias already named) and answers
            {"keyId", "arn", "accountId", "region", "alias", "keyManager": "CUSTOMER", "grantedAccounts": []}.
          GET /_emulator/kms/keys[?account=ID&region=R] lists the created keys, then the AWS managed ones
            (keyManager "AWS") of the account-regions with state.
          POST /_emulator/kms/grants {"keyId" or "arn": …, "accountId": "210987654321"} lets that account use the key;
          DELETE /_emulator/kms/grants with the same body (or ?keyId=…&accountId=…) takes it back. Both answer the key.
        Stats: "copiesPerDestination" {"ACCOUNT/REGION": n} and "copiesPerSourceAndDestination"
          {"REGION/snap-…": {"ACCOUNT/REGION": n}} count the copies each account made, and where.
        "copyDetails" {"snap-…(copy)": {"source", "destination", "kind": "Full"|"Incremental", "reason", "baseSnapshotId",
          "lineageVolume", "transferredBytes", "startTime", "endTime", "transferType", "completionDurationMinutes",
          "transferStart", "dueTime", "requiredMiBps", "grantedMiBps", "late"}} and "transferredBytes" (their sum): each
          copy as EC2 decides it (ebs-copy-snapshot.html, "Incremental snapshot copying"): within one account and region
          with the same key incremental, 0 bytes; across regions or accounts incremental only against the most recently
          completed copy of the source volume there, still existing, with every copy there on the same key (or all
          unencrypted), else full. Full moves the volume size (GiB x 2^30), incremental
          --Config:Durations:IncrementalChangedShare of it (default: IncrementalFactor, 0.3).
        Time-based copies (CompletionDurationMinutes, time-based-copies.html) need transferred MiB / duration; each gets
          at most --Config:Limits:TimeBasedCopyMaxPerCopyMiBps (500), and all of an account's between one source and one
          destination region at most --Config:Limits:TimeBasedCopyThroughputMiBps (2000, quota L-E137849C). Less left
          than needed: accepted and late (bytes / what it got); none left: 400 ResourceLimitExceeded (code unverified).
          A second time-based copy of one snapshot starts its duration when the first completes.
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Any(a => a is "--help" or "-h" or "-?" or "/?"))
        {
            Console.WriteLine(Usage);
            return 0;
        }

        EmulatorOptions options;
        try
        {
            options = ReadOptions(args);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or FileNotFoundException or InvalidDataException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine("Run with --help for usage.");
            return 2;
        }

        await using var emulator = await Ec2Emulator.StartAsync(options);
        Console.Out.WriteLine(emulator.BaseUrl);
        Console.Out.Flush();

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        await stop.Task;
        return 0;
    }

    /// <summary>Binds EmulatorOptions from an optional JSON file and the command line (<c>--Key:Sub value</c>).</summary>
    internal static EmulatorOptions ReadOptions(string[] args)
    {
        string? file = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length) file = args[i + 1];
            else if (args[i].StartsWith("--config=", StringComparison.Ordinal)) file = args[i]["--config=".Length..];
        }
        var builder = new ConfigurationBuilder();
        if (file is not null) builder.AddJsonFile(Path.GetFullPath(file), optional: false);
        // "--config FILE" maps to a key of its own so that it does not collide with the Config section.
        builder.AddCommandLine(args, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["--port"] = "Port",
            ["--config"] = "EmulatorConfigFile",
        });
        var configuration = builder.Build();

        var options = new EmulatorOptions();
        // The binder appends to non-empty lists: a configured region list replaces the default one.
        if (configuration.GetSection("Regions").GetChildren().Any()) options.Regions.Clear();
        configuration.Bind(options);
        return options;
    }
}
