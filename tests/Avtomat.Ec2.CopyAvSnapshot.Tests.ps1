#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 mirror of tests/Avtomat.Ec2.PowerShell.Tests/CopyAvSnapshot/*.cs, for a real pwsh (or Windows PowerShell 5.1).
# Run after `dotnet build`:  Invoke-Pester ./tests/Avtomat.Ec2.CopyAvSnapshot.Tests.ps1
# Starts the EC2 emulator program on a free port (fast, fixed copy durations) and drives it through its control API.
# When AWS.Tools.EC2 is installed, the Get-EC2Snapshot pipeline from the README runs too (against the emulator).

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1')
}

AfterAll {
    Stop-AvTestEmulator
}

Describe 'Copy-AvSnapshot binding' {
    BeforeEach { Reset-Emulator }

    It 'binds strings by value and by position' {
        $ids = New-Snapshot 3
        $piped = $ids[0], $ids[1] | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2
        $piped | Should -HaveCount 2
        $piped.SourceSnapshotId | Sort-Object | Should -Be ($ids[0..1] | Sort-Object)
        $piped.State | Should -Not -Contain 'Failed'
        $piped[0].PSObject.TypeNames[0] | Should -Be 'Avtomat.Ec2.SnapshotCopyResult'

        # -Region is where the copy is made (as in Copy-EC2Snapshot); the source defaults to that region too.
        $positional = Copy-AvSnapshot $ids[2] @Aws -Region us-east-1
        $positional.Region | Should -Be 'us-east-1'
        $positional.SourceRegion | Should -Be 'us-east-1'
        $positional.State | Should -Be 'Completed'
    }

    It 'takes -Region as where the copy is made, and -SourceRegion and -Description by position (Copy-EC2Snapshot)' {
        $ids = New-Snapshot 1 eu-west-1
        $copy = Copy-AvSnapshot -SourceRegion eu-west-1 -SourceSnapshotId $ids[0] -Region us-west-2 @Aws
        $copy.Region | Should -Be 'us-west-2'
        $copy.SourceRegion | Should -Be 'eu-west-1'
        $positional = Copy-AvSnapshot $ids[0] eu-west-1 'Positional description' -Region us-west-1 @Aws
        $positional.Region | Should -Be 'us-west-1'
        $positional.Description | Should -Be 'Positional description'
    }

    It 'binds [pscustomobject]s by property name: SnapshotId with Region, SourceSnapshotId with SourceRegion' {
        $east = New-Snapshot 1 us-east-1
        $west = New-Snapshot 1 us-west-2
        $results = [pscustomobject]@{ SnapshotId = $east[0]; Region = 'us-east-1' },
                   [pscustomobject]@{ SourceSnapshotId = $west[0]; SourceRegion = 'us-west-2' } |
            Copy-AvSnapshot @Aws -DestinationRegion eu-west-1
        $results | Should -HaveCount 2
        ($results | Where-Object SourceSnapshotId -eq $west[0]).SourceRegion | Should -Be 'us-west-2'
        ($results | Where-Object SourceSnapshotId -eq $east[0]).SourceRegion | Should -Be 'us-east-1'
    }

    It 'binds objects shaped like Get-EC2Snapshot output without taking their Encrypted or KmsKeyId' {
        $ids = New-Snapshot 1 -Description nightly
        $lookalike = [pscustomobject]@{ SnapshotId = $ids[0]; VolumeId = 'vol-0123456789abcdef0'; State = 'completed'; OwnerId = $Account
            Description = 'nightly'; Encrypted = $true; KmsKeyId = 'alias/other'; VolumeSize = 8; Progress = '100%'; Tags = @() }
        $result = $lookalike | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2
        $result.SourceSnapshotId | Should -Be $ids[0]
        $result.Encrypted | Should -BeFalse
    }

    It 'copies copies on when its own results are piped in' {
        $ids = New-Snapshot 2
        $first = Copy-AvSnapshot @Aws -SnapshotId $ids -SourceRegion us-east-1 -DestinationRegion us-west-2
        $second = $first | Copy-AvSnapshot @Aws -DestinationRegion eu-west-1
        $second | Should -HaveCount 2
        $second.SourceSnapshotId | Sort-Object | Should -Be ($first.SnapshotId | Sort-Object)
        $second.SourceRegion | Sort-Object -Unique | Should -Be 'us-west-2'
        $second.State | Sort-Object -Unique | Should -Be 'Completed'
    }

    It 'runs the README pipeline with AWS.Tools.EC2 when it is installed' -Skip:(-not (Get-Module -ListAvailable -Name AWS.Tools.EC2)) {
        $null = New-Snapshot 2 -Tags @{ Backup = 'yes' }
        $results = Get-EC2Snapshot -OwnerId self -Filter @{ Name = 'tag:Backup'; Values = 'yes' } -Region us-east-1 @Aws |
            Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -Encrypted
        $results | Should -HaveCount 2
        $results.Encrypted | Sort-Object -Unique | Should -BeTrue
    }
}

Describe 'Copy-AvSnapshot parameters' {
    BeforeEach { Reset-Emulator }

    It 'fans out to several destination regions: one result per snapshot and destination' {
        $ids = New-Snapshot 2
        $results = $ids | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2, eu-west-1
        $results | Should -HaveCount 4
        foreach ($id in $ids) {
            ($results | Where-Object SourceSnapshotId -eq $id).Region | Sort-Object | Should -Be @('eu-west-1', 'us-west-2')
        }
    }

    It 'encrypts with -Encrypted and with -KmsKeyId (which implies -Encrypted)' {
        $ids = New-Snapshot 2
        $a = Copy-AvSnapshot @Aws $ids[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -Encrypted
        $b = Copy-AvSnapshot @Aws $ids[1] -SourceRegion us-east-1 -DestinationRegion us-west-2 -KmsKeyId alias/dr-backup
        $a.Encrypted | Should -BeTrue
        $b.Encrypted | Should -BeTrue
        $b.KmsKeyId | Should -Not -Be $a.KmsKeyId
    }

    It 'expands the description template and sets -Tag and -CopyTags, skipping aws: keys' {
        $ids = New-Snapshot 1 -Description 'nightly db' -Tags @{ Backup = 'yes'; 'aws:backup:source-resource' = 'vol-1' }
        $r = Copy-AvSnapshot @Aws $ids[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 `
            -Description 'DR {SourceSnapshotId}@{SourceRegion}: {SourceDescription}' -Tag @{ Purpose = 'dr' } -CopyTags
        $r.Description | Should -Be "DR $($ids[0])@us-east-1: nightly db"
        $r.Tags['Purpose'] | Should -Be 'dr'
        $r.Tags['Backup'] | Should -Be 'yes'
        $r.Tags.Keys | Where-Object { $_ -like 'aws:*' } | Should -BeNullOrEmpty
    }

    It 'rejects reserved tag keys before any call' {
        { Copy-AvSnapshot @Aws snap-0123456789abcdef0 -SourceRegion us-east-1 -Tag @{ 'aws:x' = '1' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'ReservedTagKey,Avtomat.Ec2.Commands.CopyAvSnapshotCommand'
        (Get-Stats).totalCalls | Should -Be 0
    }

    It 'validates -CompletionDurationMinutes (15..2880 in steps of 15), -ThrottleLimit and -Timeout' -TestCases @(
        @{ Arguments = @{ CompletionDurationMinutes = 20 } }
        @{ Arguments = @{ CompletionDurationMinutes = 10 } }
        @{ Arguments = @{ ThrottleLimit = 0 } }
        @{ Arguments = @{ ThrottleLimit = 101 } }
        @{ Arguments = @{ Timeout = 0 } }
        @{ Arguments = @{ SourceRegion = 'US_EAST' } }
    ) {
        param($Arguments)
        { Copy-AvSnapshot @Aws snap-0123456789abcdef0 @Arguments -ErrorAction Stop } |
            Should -Throw -ExceptionType ([System.Management.Automation.ParameterBindingException])
        (Get-Stats).totalCalls | Should -Be 0
    }

    It 'keeps at most -ThrottleLimit copies pending per destination' {
        Reset-Emulator -CopySeconds 0.4
        $ids = New-Snapshot 6
        $results = $ids | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -PendingLimit 2
        ($results | Where-Object State -eq 'Completed') | Should -HaveCount 6
        (Get-Stats).maxPendingCopies."$Account/us-west-2" | Should -BeLessOrEqual 2
    }

    It 'times out with TimedOut results carrying the new ids and OperationTimeout errors' {
        Reset-Emulator -CopySeconds 60
        $ids = New-Snapshot 2
        $results = $ids | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -TimeoutSec 3 -ErrorVariable errs -ErrorAction SilentlyContinue
        $results | Should -HaveCount 2
        $results.State | Sort-Object -Unique | Should -Be 'TimedOut'
        $results.SnapshotId | ForEach-Object { $_ | Should -Match '^snap-' }
        $errs | Should -HaveCount 2
        $errs.CategoryInfo.Category | Sort-Object -Unique | Should -Be 'OperationTimeout'
        $errs.TargetObject | Sort-Object | Should -Be ($results.SnapshotId | Sort-Object)
    }

    It '-DryRun reports DryRun results and copies nothing' {
        $ids = New-Snapshot 2
        $results = $ids | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -DryRun
        $results.State | Sort-Object -Unique | Should -Be 'DryRun'
        Get-CopyCount us-west-2 | Should -Be 0
    }

    It '-WhatIf makes no AWS call at all' {
        $ids = New-Snapshot 2
        $ids | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2, eu-west-1 -WhatIf | Should -BeNullOrEmpty
        (Get-Stats).totalCalls | Should -Be 0
    }

    It 'enforces the Outpost rules before any call' {
        $outpost = 'arn:aws:outposts:us-west-2:123456789012:outpost/op-0123456789abcdef0'
        { Copy-AvSnapshot @Aws snap-0123456789abcdef0 -SourceRegion us-east-1 -DestinationOutpostArn $outpost -DestinationRegion eu-west-1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'OutpostRegionMismatch,Avtomat.Ec2.Commands.CopyAvSnapshotCommand'
        { Copy-AvSnapshot @Aws snap-0123456789abcdef0 -SourceRegion us-east-1 -DestinationOutpostArn $outpost -DestinationAvailabilityZone us-west-2-lax-1a -ErrorAction Stop } |
            Should -Throw -ExceptionType ([System.Management.Automation.ParameterBindingException])
        (Get-Stats).totalCalls | Should -Be 0

        $ids = New-Snapshot 1 us-west-2
        $r = Copy-AvSnapshot @Aws $ids[0] -SourceRegion us-west-2 -DestinationOutpostArn $outpost
        $r.DestinationOutpostArn | Should -Be $outpost
        $r.Encrypted | Should -BeTrue
    }
}

Describe 'Copy-AvSnapshot errors, stopping, progress and output' {
    BeforeEach { Reset-Emulator }

    It 'fails a missing snapshot alone, with id, category, target and recommended action' {
        $ids = New-Snapshot 2
        $results = $ids[0], $Missing, $ids[1] | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -ErrorVariable errs -ErrorAction SilentlyContinue
        ($results | Where-Object State -eq 'Completed') | Should -HaveCount 2
        ($results | Where-Object State -eq 'Failed').SourceSnapshotId | Should -Be $Missing
        $errs | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'SnapshotNotFound,Avtomat.Ec2.Commands.CopyAvSnapshotCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $errs[0].TargetObject | Should -Be $Missing
        $errs[0].ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'reports a copy that ends in error with EC2''s status message' {
        Reset-Emulator -InaccessibleKeys 'alias/locked'
        $ids = New-Snapshot 1
        $r = Copy-AvSnapshot @Aws $ids[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -KmsKeyId alias/locked -ErrorVariable errs -ErrorAction SilentlyContinue
        $r.State | Should -Be 'Failed'
        $r.StatusMessage | Should -Not -BeNullOrEmpty
        $errs[0].FullyQualifiedErrorId | Should -Be 'SnapshotCopyFailed,Avtomat.Ec2.Commands.CopyAvSnapshotCommand'
        $errs[0].TargetObject | Should -Be $r.SnapshotId
    }

    It 'stops at the first error with -ErrorAction Stop and starts no further copies' {
        # A source in the error state fails at the first look. (A missing one fails only after the 30 s visibility grace,
        # since EC2 may not list a snapshot it has just accepted yet, and by then these copies would all be done.)
        Reset-Emulator -CopySeconds 1
        $bad = @((Invoke-Emulator seed POST @{ region = 'us-east-1'; snapshots = 1; state = 'error' }).snapshotIds)
        $ids = New-Snapshot 5
        { @($bad) + $ids | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -ThrottleLimit 1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'SourceSnapshotFailed,Avtomat.Ec2.Commands.CopyAvSnapshotCommand'
        # A copy to another region takes 1.5 s here, seen done at the next 2 s poll: a job still running would have
        # started a second one by now.
        Start-Sleep -Seconds 5
        Get-CopyCount us-west-2 | Should -BeLessOrEqual 1
    }

    It 'returns promptly on Stop (Ctrl+C) with the accepted ids in the verbose stream' {
        Reset-Emulator -CopySeconds 120
        $ids = New-Snapshot 3
        $ps = [powershell]::Create()
        $null = $ps.AddCommand('Import-Module').AddParameter('Name', $ManifestPath).AddStatement()
        $null = $ps.AddCommand('Copy-AvSnapshot').AddParameter('SnapshotId', $ids).AddParameters($Aws).
            AddParameter('SourceRegion', 'us-east-1').AddParameter('DestinationRegion', 'us-west-2').AddParameter('Verbose')
        $async = $ps.BeginInvoke()
        $deadline = (Get-Date).AddSeconds(20)
        while (@($ps.Streams.Verbose | Where-Object Message -like '* accepted').Count -lt 3 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 50 }
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 3
        $async.IsCompleted | Should -BeTrue
        $accepted = @($ps.Streams.Verbose | Where-Object Message -like '* accepted')
        $accepted | Should -HaveCount 3
        foreach ($id in $ids) { $accepted.Message | Where-Object { $_ -like "$id (us-east-1) $Arrow snap-* (us-west-2) accepted" } | Should -HaveCount 1 }
        Get-CopyCount us-west-2 | Should -Be 3
        $ps.Dispose()
    }

    It 'writes parent and child progress records from a slot pool and completes them all' {
        Reset-Emulator -CopySeconds 1
        $ids = New-Snapshot 5
        $ps = [powershell]::Create()
        $null = $ps.AddCommand('Import-Module').AddParameter('Name', $ManifestPath).AddStatement()
        $null = $ps.AddCommand('Copy-AvSnapshot').AddParameter('SnapshotId', $ids).AddParameters($Aws).
            AddParameter('SourceRegion', 'us-east-1').AddParameter('DestinationRegion', @('us-west-2', 'eu-west-1')).AddParameter('ThrottleLimit', 2)
        $null = $ps.Invoke()
        $records = @($ps.Streams.Progress)
        $ps.Dispose()
        $parents = @($records | Where-Object ParentActivityId -lt 0)
        $children = @($records | Where-Object ParentActivityId -ge 0)
        @($parents.ActivityId | Sort-Object -Unique) | Should -HaveCount 2
        $parents.Activity | Should -Contain "Copying 5 snapshots us-east-1 $Arrow us-west-2"
        foreach ($group in $children | Group-Object ParentActivityId) {
            $parents.ActivityId | Should -Contain ([int]$group.Name)
            @($group.Group.ActivityId | Sort-Object -Unique).Count | Should -BeLessOrEqual 2
        }
        foreach ($group in $records | Group-Object ActivityId) {
            $group.Group[-1].RecordType | Should -Be 'Completed'
        }
    }

    It 'streams results while the upstream is still producing' {
        $ids = New-Snapshot 5
        $log = [System.Collections.Generic.List[string]]::new()
        & { foreach ($id in $ids) { $log.Add("in $id"); $id; Start-Sleep -Milliseconds 1500 } } |
            Copy-AvSnapshot @Aws -SourceRegion us-east-1 |
            ForEach-Object { $log.Add("out $($_.SourceSnapshotId)") }
        $log | Should -HaveCount 10
        $lastIn = [array]::FindLastIndex($log.ToArray(), [Predicate[string]] { param($l) $l.StartsWith('in ') })
        $firstOut = $log.FindIndex([Predicate[string]] { param($l) $l.StartsWith('out ') })
        $firstOut | Should -BeLessThan $lastIn
    }

    It 'writes accepted ids and a summary to the verbose stream and never the secret' {
        $ids = New-Snapshot 2
        $verbose = $ids | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message | Where-Object { $_ -like '* accepted' }) | Should -HaveCount 2
        ($verbose.Message | Where-Object { $_ -like 'Copy-AvSnapshot: 2 copies in *' }) | Should -HaveCount 1
        ($verbose.Message -join "`n") | Should -Not -Match ([regex]::Escape($SecretKey))
    }

    It 'shows results with the table view' {
        $ids = New-Snapshot 1
        $text = Copy-AvSnapshot @Aws $ids[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 | Out-String -Width 220
        $text | Should -Match 'SnapshotId\s+SourceSnapshotId\s+Region\s+State\s+Duration'
        $text | Should -Match 'Completed\s+\d\d:\d\d:\d\d'
    }
}

Describe 'Copy-AvSnapshot surface' {
    It 'declares the documented parameters, aliases and pipeline binding' {
        $command = Get-Command Copy-AvSnapshot
        $command.Parameters['SnapshotId'].Aliases | Should -Contain 'SourceSnapshotId'
        $command.Parameters['SourceRegion'].Aliases | Should -Not -Contain 'Region'
        $command.Parameters['SourceRegion'].ParameterSets['__AllParameterSets'].Position | Should -Be 1
        $command.Parameters['Description'].ParameterSets['__AllParameterSets'].Position | Should -Be 2
        $command.Parameters['Region'].Aliases | Should -Contain 'RegionToCall'
        $command.Parameters['DestinationRegion'].Aliases | Should -Contain 'TargetRegion'
        $command.Parameters['ThrottleLimit'].Aliases | Should -Contain 'PendingLimit'
        $command.Parameters['Timeout'].Aliases | Should -Contain 'TimeoutSec'
        # -SnapshotId belongs to every parameter set (ToRegion, ToOutpost, ToLocalZone), so its one entry is __AllParameterSets.
        $sets = $command.Parameters['SnapshotId'].ParameterSets
        @($sets.Keys) | Should -Be @([System.Management.Automation.ParameterAttribute]::AllParameterSets)
        $set = $sets[[System.Management.Automation.ParameterAttribute]::AllParameterSets]
        $set.IsMandatory | Should -BeTrue
        $set.Position | Should -Be 0
        $set.ValueFromPipeline | Should -BeTrue
        $set.ValueFromPipelineByPropertyName | Should -BeTrue
        $command.DefaultParameterSet | Should -Be 'ToRegion'
        $command.OutputType.Name | Should -Be 'Avtomat.Ec2.SnapshotCopyResult'
    }

    It 'has help with a synopsis, a description, examples and every parameter' {
        $help = Get-Help Copy-AvSnapshot -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.description.Text -join ' ' | Should -Match 'Ctrl\+C'
        @($help.examples.example).Count | Should -BeGreaterOrEqual 3
        $documented = $help.parameters.parameter.name
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($p in (Get-Command Copy-AvSnapshot).Parameters.Values) {
            if ($p.Name -in $common -or ($p.Attributes | Where-Object { $_ -is [Parameter] -and $_.DontShow })) { continue }
            $documented | Should -Contain $p.Name
        }
    }

    It 'completes region names' {
        $line = 'Copy-AvSnapshot -DestinationRegion us-we'
        $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $completions | Should -Contain 'us-west-1'
        $completions | Should -Contain 'us-west-2'
    }
}

Describe 'An endpoint set in the environment' {
    It 'AWS_ENDPOINT_URL_EC2 without -EndpointUrl: each region''s calls are signed for that region, so the copy is made where it says' {
        Reset-Emulator
        $ids = New-Snapshot 1 us-east-1
        # The emulator, like AWS, takes the region from the signature's scope: a call signed for a region guessed from
        # the host (us-east-1 for 127.0.0.1) would make the copy in us-east-1 while the result said us-west-2.
        $env:AWS_ENDPOINT_URL_EC2 = $Url
        $env:AWS_ENDPOINT_URL_STS = $Url
        try {
            $result = Copy-AvSnapshot -SnapshotId $ids[0] -SourceRegion us-east-1 -DestinationRegion us-west-2 -AccessKey AKIDPESTER -SecretKey $SecretKey
        }
        finally {
            Remove-Item -Path Env:AWS_ENDPOINT_URL_EC2, Env:AWS_ENDPOINT_URL_STS -ErrorAction Ignore
        }
        $result.Region | Should -Be 'us-west-2'
        $result.State | Should -Be 'Completed'
        Get-CopyCount us-west-2 | Should -Be 1
        Get-CopyCount us-east-1 | Should -Be 0
        (Get-Stats).calls."$Account/us-west-2".CopySnapshot | Should -Be 1
    }
}
