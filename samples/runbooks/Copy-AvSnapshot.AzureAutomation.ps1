<#
.SYNOPSIS
    Azure Automation runbook (PowerShell 7.4 runtime): copies EBS snapshots to other regions with Avtomat.Ec2, stops
    before the job's time limit and finishes on the next scheduled run without copying anything twice.

.DESCRIPTION
    Import the Avtomat.Ec2 module into the Automation account (PowerShell 7.4 runtime); add AWS.Tools.Common and
    AWS.Tools.EC2 too when you select snapshots with -TagFilter. Schedule this runbook, for example hourly.

    Each run copies what is not copied yet. Copy-AvSnapshot tags every copy with its source (avtomat:source-snapshot-id,
    avtomat:source-region), so a later run finds the copies an earlier run made: a finished copy is reported as reused,
    a copy still pending in EC2 is waited for, and only sources without a copy are copied. A run that reaches its time
    budget (default 170 minutes, under the three hours after which Azure Automation stops a cloud job under fair share)
    ends on its own with those copies pending; they keep running in EC2 and the next run picks them up.

    Credentials (-CredentialSource):
      ManagedIdentity       The runbook's managed identity (system-assigned, or -IdentityClientId for a
                            user-assigned one) gets an Entra ID token for -Audience; the AWS role -RoleArn trusts that
                            token through an IAM OIDC identity provider, and the AWS SDK exchanges it for temporary
                            credentials with AssumeRoleWithWebIdentity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN).
                            No secret is stored anywhere.
      AutomationVariables   Access keys from two encrypted Automation variables (-AccessKeyVariable,
                            -SecretKeyVariable).
      Environment           The AWS SDK's default chain as it is (environment variables, profiles, instance profile):
                            for Hybrid Runbook Workers that already have AWS credentials.

    Output: one summary object (counts and one row per snapshot and destination) on the output stream, and a summary
    line on the Information stream. Copies that failed are also written as errors; the job goes on.

.EXAMPLE
    Start-AzAutomationRunbook -AutomationAccountName aa-backup -ResourceGroupName rg-backup -Name Copy-AvSnapshot `
        -Parameters @{ SourceRegion = 'eu-west-1'; DestinationRegion = 'eu-central-1'; TagFilter = 'Backup=daily'
                       RoleArn = 'arn:aws:iam::111122223333:role/avtomat-snapshot-copy'
                       Audience = 'api://avtomat-aws' }
#>
[CmdletBinding()]
param(
    # The region the snapshots are in.
    [Parameter(Mandatory)]
    [string] $SourceRegion,

    # Where the copies are made: one region, or several separated by commas ('us-west-2,eu-west-1').
    [Parameter(Mandatory)]
    [string[]] $DestinationRegion,

    # The snapshots to copy, by id (several separated by commas). Or select them with -TagFilter.
    [string[]] $SnapshotId,

    # Select the account's own snapshots in -SourceRegion by tags: 'Key=Value', several pairs separated by ';' (all
    # must match), several values of one key separated by ',' (any may match): 'Backup=daily,weekly;Tier=prod'.
    # Needs AWS.Tools.EC2 (Get-EC2Snapshot) in the Automation account.
    [string] $TagFilter,

    # Encrypt the copies with this KMS key (id, ARN or alias in the destination region).
    [string] $KmsKeyId,

    [ValidateSet('ManagedIdentity', 'AutomationVariables', 'Environment')]
    [string] $CredentialSource = 'ManagedIdentity',

    # ManagedIdentity: the AWS role to assume with the identity's token.
    [string] $RoleArn,

    # ManagedIdentity: the token's audience (the resource asked for), as the IAM OIDC provider lists it.
    [string] $Audience = 'api://AzureADTokenExchange',

    # ManagedIdentity: the client id of a user-assigned identity; empty for the system-assigned one.
    [string] $IdentityClientId,

    # AutomationVariables: the names of the variables with the access key id and the (encrypted) secret access key.
    [string] $AccessKeyVariable = 'AwsAccessKeyId',
    [string] $SecretKeyVariable = 'AwsSecretAccessKey',

    # Stop waiting after this many minutes of the run (copies still pending keep running in EC2). Keep it under the
    # platform's limit: Azure Automation stops a cloud job after three hours.
    [ValidateRange(0.05, 1440)]
    [double] $TimeBudgetMinutes = 170,

    # Another EC2 endpoint (a VPC endpoint). Leave empty for AWS's own.
    [string] $EndpointUrl
)

$ErrorActionPreference = 'Stop'
# Azure Automation stores progress records only when progress logging is on; nobody watches them here.
$ProgressPreference = 'SilentlyContinue'
$started = [DateTime]::UtcNow
$deadline = $started.AddMinutes($TimeBudgetMinutes)
# Time kept back at the end for the summary: 5% of the budget, at most a minute.
$reserve = [TimeSpan]::FromSeconds([Math]::Min(60, $TimeBudgetMinutes * 60 * 0.05))

# Values in Azure's parameter boxes come as one string: 'a,b' is two items.
function Split-List([string[]] $Values) {
    @($Values | ForEach-Object { $_ -split ',' } | ForEach-Object { $_.Trim() } | Where-Object { $_ })
}

$destinations = Split-List $DestinationRegion
$ids = Split-List $SnapshotId
if (-not $ids -and -not $TagFilter) {
    throw 'Give the snapshots to copy: -SnapshotId, or -TagFilter (for example Backup=daily).'
}

# ---- Credentials ------------------------------------------------------------------------------------------------
$aws = @{}
if ($EndpointUrl) { $aws.EndpointUrl = $EndpointUrl }
$restoreEnvironment = @{}
$tokenFile = $null
switch ($CredentialSource) {
    'AutomationVariables' {
        # Get-AutomationVariable exists only inside Azure Automation (and wherever a test defines it).
        $aws.AccessKey = Get-AutomationVariable -Name $AccessKeyVariable
        $aws.SecretKey = Get-AutomationVariable -Name $SecretKeyVariable
        if (-not $aws.AccessKey -or -not $aws.SecretKey) {
            throw "The Automation variables '$AccessKeyVariable' and '$SecretKeyVariable' must both hold a value."
        }
    }
    'ManagedIdentity' {
        if (-not $RoleArn) { throw '-RoleArn is required with -CredentialSource ManagedIdentity.' }
        if (-not $env:IDENTITY_ENDPOINT -or -not $env:IDENTITY_HEADER) {
            throw 'No managed identity endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER): enable a managed identity on the Automation account.'
        }
        $query = 'resource={0}&api-version=2019-08-01' -f [Uri]::EscapeDataString($Audience)
        if ($IdentityClientId) { $query += '&client_id={0}' -f [Uri]::EscapeDataString($IdentityClientId) }
        try {
            $answer = Invoke-RestMethod -Method Get -Uri "$($env:IDENTITY_ENDPOINT)?$query" `
                -Headers @{ 'X-IDENTITY-HEADER' = $env:IDENTITY_HEADER; Metadata = 'true' }
        }
        catch {
            # The message names the endpoint's answer, never the identity header.
            throw "The managed identity endpoint gave no token for '$Audience': $($_.Exception.Message)"
        }
        if (-not $answer.access_token) { throw "The managed identity endpoint answered without an access_token for '$Audience'." }
        # The AWS SDK's web identity source reads the token from a file (and again when it refreshes).
        $tokenFile = Join-Path ([IO.Path]::GetTempPath()) ('avtomat-web-identity-{0}.jwt' -f [Guid]::NewGuid().ToString('N'))
        [IO.File]::WriteAllText($tokenFile, $answer.access_token)
        $session = 'avtomat-' + ($(if ($env:AUTOMATION_JOB_ID) { $env:AUTOMATION_JOB_ID } else { [Guid]::NewGuid().ToString('N') }) -replace '[^\w+=,.@-]', '')
        $variables = @{
            AWS_WEB_IDENTITY_TOKEN_FILE = $tokenFile
            AWS_ROLE_ARN                = $RoleArn
            AWS_ROLE_SESSION_NAME       = $session.Substring(0, [Math]::Min(64, $session.Length))
        }
        # Keys in the environment come before web identity in the SDK's chain: make sure none are there.
        foreach ($name in 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE') { $variables[$name] = $null }
        foreach ($name in $variables.Keys) {
            $restoreEnvironment[$name] = [Environment]::GetEnvironmentVariable($name)
            [Environment]::SetEnvironmentVariable($name, $variables[$name])
        }
    }
    'Environment' { }
}

try {
    Import-Module Avtomat.Ec2

    # ---- Which snapshots ----------------------------------------------------------------------------------------
    if ($TagFilter) {
        if (-not (Get-Command Get-EC2Snapshot -ErrorAction SilentlyContinue)) {
            throw '-TagFilter needs Get-EC2Snapshot: import AWS.Tools.Common and AWS.Tools.EC2 into the Automation account, or pass -SnapshotId.'
        }
        $filters = foreach ($pair in $TagFilter -split ';' | Where-Object { $_.Trim() }) {
            $key, $values = $pair -split '=', 2
            if (-not $key.Trim() -or $null -eq $values) { throw "The tag filter '$pair' is not Key=Value." }
            @{ Name = "tag:$($key.Trim())"; Values = @(Split-List $values) }
        }
        $selection = @{ OwnerId = 'self'; Filter = @($filters); Region = $SourceRegion }
        foreach ($name in 'AccessKey', 'SecretKey', 'EndpointUrl') { if ($aws.ContainsKey($name)) { $selection[$name] = $aws[$name] } }
        $ids = @($ids) + @(Get-EC2Snapshot @selection | Where-Object { $_.State -ne 'error' } | ForEach-Object SnapshotId) |
            Select-Object -Unique
    }
    Write-Information "Copy-AvSnapshot runbook: $(@($ids).Count) snapshots from $SourceRegion to $($destinations -join ', '), budget $TimeBudgetMinutes min."

    # ---- Copy, within the budget -----------------------------------------------------------------------------------
    $results = @()
    $errors = @()
    if (@($ids).Count -gt 0) {
        $copy = @{
            SnapshotId        = @($ids)
            SourceRegion      = $SourceRegion
            DestinationRegion = $destinations
            CopyTags          = $true
            Timeout           = [int][Math]::Max(1, [Math]::Floor(($deadline - [DateTime]::UtcNow - $reserve).TotalSeconds))
            Confirm           = $false
            ErrorAction       = 'SilentlyContinue'
            ErrorVariable     = '+errors'
        }
        if ($KmsKeyId) { $copy.Encrypted = $true; $copy.KmsKeyId = $KmsKeyId }
        $results = @(Copy-AvSnapshot @copy @aws)
    }

    # ---- Summary -------------------------------------------------------------------------------------------------
    # A copy that ran out of time is pending, not failed: it runs on in EC2 (or starts on the next run).
    foreach ($record in $errors) {
        if ($record.FullyQualifiedErrorId -notlike 'CopyTimedOut*') { $PSCmdlet.WriteError($record) }
    }
    $rows = foreach ($result in $results) {
        $outcome = switch ($result.State.ToString()) {
            'Completed' { if ($result.Reused) { 'reused' } else { 'copied' } }
            'TimedOut' { 'pending' }
            'Pending' { 'pending' }
            'Queued' { 'pending' }
            default { 'failed' }
        }
        [pscustomobject]@{
            SourceSnapshotId = $result.SourceSnapshotId
            Region           = $result.Region
            SnapshotId       = $result.SnapshotId
            Outcome          = $outcome
            State            = $result.State.ToString()
            StatusMessage    = $result.StatusMessage
        }
    }
    $rows = @($rows)
    $count = { param($outcome) @($rows | Where-Object Outcome -eq $outcome).Count }
    $summary = [pscustomobject]@{
        PSTypeName        = 'Avtomat.Ec2.RunbookSummary'
        SourceRegion      = $SourceRegion
        DestinationRegion = $destinations
        Requested         = @($ids).Count * $destinations.Count
        Copied            = & $count 'copied'
        Reused            = & $count 'reused'
        Pending           = & $count 'pending'
        Failed            = & $count 'failed'
        Complete          = $false
        StartedUtc        = $started
        Seconds           = [Math]::Round(([DateTime]::UtcNow - $started).TotalSeconds, 1)
        TimeBudgetMinutes = $TimeBudgetMinutes
        Results           = $rows
    }
    $summary.Complete = $summary.Pending -eq 0 -and $summary.Failed -eq 0 -and $rows.Count -eq $summary.Requested
    $line = 'Copy-AvSnapshot runbook: {0} copied, {1} reused, {2} pending, {3} failed of {4} in {5} s.' -f
        $summary.Copied, $summary.Reused, $summary.Pending, $summary.Failed, $summary.Requested, $summary.Seconds
    if ($summary.Pending -gt 0) { $line += ' The pending copies go on in EC2; the next run waits for them and copies nothing twice.' }
    Write-Information $line
    $summary
}
finally {
    foreach ($name in $restoreEnvironment.Keys) { [Environment]::SetEnvironmentVariable($name, $restoreEnvironment[$name]) }
    if ($tokenFile) { Remove-Item -LiteralPath $tokenFile -Force -ErrorAction SilentlyContinue }
}
