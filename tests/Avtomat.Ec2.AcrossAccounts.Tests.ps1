#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Across accounts in a real pwsh against the emulator, with three accounts (prod, vault, other) in one credentials
# file: a snapshot another account shared with the caller (shared with the AWS CLI, as a user would), and the vault
# copy (-DestinationProfileName) stopped half way and run again, and as one pipeline after New-AvSnapshot. What EC2
# holds is checked from outside, account by account, with the AWS CLI (skipped, saying so, where it is not installed)
# and the emulator's per-account counters.
# This file runs in its own pwsh (tests/Avtomat.Ec2.Pester.Tests), so it may set process environment variables.

BeforeAll {
    $script:AccountOf = [ordered]@{ prod = '111111111111'; vault = '222222222222'; other = '333333333333' }
    $script:KeyOf = @{ prod = 'AKIDACROSSPROD'; vault = 'AKIDACROSSVAULT'; other = 'AKIDACROSSOTHER' }
    $script:EmulatorArguments = ($AccountOf.Keys | ForEach-Object { '--Accounts:{0} {1}' -f $KeyOf[$_], $AccountOf[$_] }) -join ' '
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1') # starts the emulator with $EmulatorArguments

    $script:CredentialsFile = Join-Path $TestDrive 'credentials'
    Set-Content -Path $CredentialsFile -Value @(foreach ($name in $AccountOf.Keys) {
            "[$name]"; "aws_access_key_id = $($KeyOf[$name])"; "aws_secret_access_key = secret-of-$name-never-shown"; ''
        })
    $env:AWS_SHARED_CREDENTIALS_FILE = $CredentialsFile
    $env:AWS_CONFIG_FILE = Join-Path $TestDrive 'config'
    Set-Content -Path $env:AWS_CONFIG_FILE -Value ''

    $script:AwsCli = Get-Command aws -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    $script:NoCli = -not $AwsCli

    # The AWS CLI as the given account, answers as objects.
    function script:Invoke-Aws([string] $Profile, [string[]] $Arguments, [string] $Region = 'us-east-1') {
        $out = & $AwsCli.Source @Arguments --profile $Profile --endpoint-url $Url --region $Region --output json 2>&1
        if ($LASTEXITCODE -ne 0) { throw "aws $($Arguments -join ' ') failed: $out" }
        if ($out) { ($out -join "`n") | ConvertFrom-Json }
    }

    # Who may create volumes from the snapshot, as its owner (prod) reads it with the AWS CLI.
    function script:Get-SharedWith([string] $SnapshotId) {
        @((Invoke-Aws prod @('ec2', 'describe-snapshot-attribute', '--snapshot-id', $SnapshotId, '--attribute', 'createVolumePermission')).CreateVolumePermissions |
            ForEach-Object { if ($_.UserId) { $_.UserId } else { "group:$($_.Group)" } })
    }

    # The copies of a source an account owns in us-west-2, as that account lists them with the AWS CLI.
    function script:Get-CopiesOf([string] $Profile, [string] $SourceId) {
        @((Invoke-Aws $Profile @('ec2', 'describe-snapshots', '--owner-ids', 'self', '--filters', "Name=tag:avtomat:source-snapshot-id,Values=$SourceId") -Region us-west-2).Snapshots)
    }

    # Every prod snapshot the vault account may copy, as prod lists them (one CLI call: RestorableBy the vault).
    function script:Get-SharedWithVault {
        @((Invoke-Aws prod @('ec2', 'describe-snapshots', '--owner-ids', 'self', '--restorable-by-user-ids', $AccountOf.vault)).Snapshots.SnapshotId)
    }

    # The source of every copy the account owns in us-west-2 (one CLI call), one entry per copy.
    function script:Get-CopiedSources([string] $Profile) {
        @((Invoke-Aws $Profile @('ec2', 'describe-snapshots', '--owner-ids', 'self') -Region us-west-2).Snapshots |
            ForEach-Object { ($_.Tags | Where-Object Key -eq 'avtomat:source-snapshot-id').Value })
    }

    function script:New-ProdSnapshots([int] $Count, [hashtable] $Extra = @{}) {
        $body = @{ region = 'us-east-1'; snapshots = $Count; accountId = $AccountOf.prod } + $Extra
        , [string[]] @((Invoke-Emulator seed POST $body).snapshotIds)
    }

    $script:Common = @{ EndpointUrl = $Url; ProfileLocation = $CredentialsFile; SourceRegion = 'us-east-1'; DestinationRegion = 'us-west-2' }
}

AfterAll {
    Stop-AvTestEmulator
}

Describe 'Across accounts' {
    BeforeEach { Reset-Emulator -CopySeconds 2 }

    It 'copies a snapshot prod shared with the AWS CLI into the vault account, and a second run reuses it' -Skip:$NoCli {
        $id = (New-ProdSnapshots 1)[0]
        Invoke-Aws prod @('ec2', 'modify-snapshot-attribute', '--snapshot-id', $id, '--attribute', 'createVolumePermission',
            '--operation-type', 'add', '--user-ids', $AccountOf.vault) | Out-Null

        $first = Copy-AvSnapshot $id -ProfileName vault @Common -ErrorAction Stop
        $second = Copy-AvSnapshot $id -ProfileName vault @Common -ErrorAction Stop

        $first.State | Should -Be 'Completed'
        $second.Reused | Should -BeTrue
        $copies = Get-CopiesOf vault $id
        $copies | Should -HaveCount 1
        $copies[0].SnapshotId | Should -Be $first.SnapshotId
        $copies[0].OwnerId | Should -Be $AccountOf.vault
        Get-CopiesOf prod $id | Should -HaveCount 0
        Get-SharedWith $id | Should -Be @($AccountOf.vault)
    }

    It 'copies into the vault in one command, stopped half way then run again: one copy each, only what it shared removed' -Skip:$NoCli {
        Reset-Emulator -CopySeconds 6
        $ids = New-ProdSnapshots 30
        $before = $ids[29]
        Invoke-Aws prod @('ec2', 'modify-snapshot-attribute', '--snapshot-id', $before, '--attribute', 'createVolumePermission',
            '--operation-type', 'add', '--user-ids', $AccountOf.vault) | Out-Null

        # -Timeout stops it once the first window of 20 was accepted, before any copy ends (6 s x 1.5 cross-region: 9 s).
        $first = $ids | Copy-AvSnapshot -ProfileName prod -DestinationProfileName vault @Common -Timeout 6 -WarningVariable warnings `
            -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $pending = @($first | Where-Object { $_.SnapshotId })
        $pending.Count | Should -BeGreaterThan 0
        $pending.Count | Should -BeLessThan 30
        # A copy still pending keeps its share (the command said so); the others were never shared, or shared and taken back.
        $shared = Get-SharedWithVault
        ($shared | Sort-Object) | Should -Be (@($pending.SourceSnapshotId) + $before | Sort-Object -Unique)
        @($warnings | Where-Object { "$_" -like "*stay shared with account $($AccountOf.vault)*" }) | Should -HaveCount 1

        $second = $ids | Copy-AvSnapshot -ProfileName prod -DestinationProfileName vault @Common -ErrorAction Stop

        @($second | Where-Object State -eq 'Completed') | Should -HaveCount 30
        (Get-CopiedSources vault | Sort-Object) | Should -Be ($ids | Sort-Object) -Because 'each source is copied once, into the vault'
        Get-CopiedSources prod | Should -BeNullOrEmpty
        $stats = Get-Stats
        foreach ($id in $ids) {
            $stats.copiesPerSourceAndDestination."us-east-1/$id"."$($AccountOf.vault)/us-west-2" | Should -Be 1 -Because "$id is copied once"
        }
        Get-SharedWithVault | Should -Be @($before) -Because 'only the permission that was there before stays'
        $tags = (Invoke-Aws prod @('ec2', 'describe-snapshots', '--owner-ids', 'self', '--filters', 'Name=tag-key,Values=avtomat:shared-with:*')).Snapshots
        @($tags) | Should -HaveCount 0 -Because 'no marker is left on any source'
    }

    It 'runs New-AvSnapshot | Copy-AvSnapshot -DestinationProfileName vault as one pipeline' -Skip:$NoCli {
        $volumes = @((Invoke-Emulator seed POST @{ region = 'us-east-1'; volumes = 3; accountId = $AccountOf.prod; availabilityZone = 'us-east-1a' }).volumeIds)

        $copies = $volumes | New-AvSnapshot -ProfileName prod -ProfileLocation $CredentialsFile -EndpointUrl $Url -Region us-east-1 |
            Copy-AvSnapshot -ProfileName prod -ProfileLocation $CredentialsFile -EndpointUrl $Url -DestinationProfileName vault `
                -DestinationRegion us-west-2 -ErrorAction Stop

        @($copies | Where-Object State -eq 'Completed') | Should -HaveCount 3
        (Get-CopiedSources vault | Sort-Object) | Should -Be ($copies.SourceSnapshotId | Sort-Object)
        Get-SharedWithVault | Should -BeNullOrEmpty
    }

    It 'stops a source encrypted with aws/ebs before any copy, saying how to fix it, and shares nothing' -Skip:$NoCli {
        $id = (New-ProdSnapshots 1 @{ encrypted = $true; kmsKeyId = 'alias/aws/ebs' })[0]

        $result = Copy-AvSnapshot $id -ProfileName prod -DestinationProfileName vault @Common -ErrorVariable failures -ErrorAction SilentlyContinue

        $result.State | Should -Be 'Failed'
        $failures[0].FullyQualifiedErrorId | Should -Be 'SourceKeyNotShareable,Avtomat.Ec2.Commands.CopyAvSnapshotCommand'
        $failures[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $failures[0].TargetObject | Should -Be $id
        $failures[0].ErrorDetails.RecommendedAction | Should -BeLike '*-KmsKeyId*'
        Get-SharedWithVault | Should -BeNullOrEmpty
        (Get-Stats).copiesPerDestination."$($AccountOf.vault)/us-west-2" | Should -BeNullOrEmpty
    }

    It 'names the key, its account and the permissions when prod''s key is not granted to the vault, and no secret' {
        $key = Invoke-Emulator kms/keys POST @{ accountId = $AccountOf.prod; region = 'us-east-1'; alias = 'alias/prod-backups' }
        $id = (New-ProdSnapshots 1 @{ encrypted = $true; kmsKeyId = $key.arn })[0]

        $result = Copy-AvSnapshot $id -ProfileName prod -DestinationProfileName vault @Common -ErrorVariable failures -ErrorAction SilentlyContinue

        $result.State | Should -Be 'Failed'
        $failures[0].FullyQualifiedErrorId | Should -Be 'SourceKeyNotAccessible,Avtomat.Ec2.Commands.CopyAvSnapshotCommand'
        $failures[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        "$($failures[0])" | Should -BeLike "*$($key.arn)*account $($AccountOf.prod)*"
        $failures[0].ErrorDetails.RecommendedAction | Should -BeLike '*kms:DescribeKey*kms:CreateGrant*kms:GenerateDataKeyWithoutPlaintext*kms:Decrypt*'
        "$($failures[0]) $($failures[0].ErrorDetails.RecommendedAction)" | Should -Not -BeLike '*secret-of-*'
        "$($failures[0]) $($failures[0].ErrorDetails.RecommendedAction)" | Should -Not -BeLike '*AKIDACROSS*'
    }
}
