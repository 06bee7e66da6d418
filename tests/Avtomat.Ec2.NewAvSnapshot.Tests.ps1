#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 mirror of tests/Avtomat.Ec2.PowerShell.Tests/NewAvSnapshot/*.cs, for a real pwsh (or Windows PowerShell 5.1).
# Run after `dotnet build`:  Invoke-Pester ./tests/Avtomat.Ec2.NewAvSnapshot.Tests.ps1
# Starts the EC2 emulator program on a free port (fast, fixed durations) and drives it through its control API.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1')
}

AfterAll {
    Stop-AvTestEmulator
}

Describe 'New-AvSnapshot' {
    BeforeEach { Reset-Emulator }

    It 'snapshots volumes given by value, by position and as Get-EC2Volume-shaped objects, in their own region' {
        $east = New-Volume 2
        $west = New-Volume 1 us-west-2
        $piped = $east | New-AvSnapshot @Aws -Region us-east-1
        $piped | Should -HaveCount 2
        $piped.State | Sort-Object -Unique | Should -Be 'Completed'
        $piped[0].PSObject.TypeNames[0] | Should -Be 'Avtomat.Ec2.SnapshotResult'

        # Get-EC2Volume output has no Region, but an AvailabilityZone.
        $volume = [pscustomobject]@{ VolumeId = $west[0]; AvailabilityZone = 'us-west-2a'; Size = 8; VolumeType = 'gp3' }
        $result = $volume | New-AvSnapshot @Aws
        $result.Region | Should -Be 'us-west-2'
        $result.VolumeId | Should -Be $west[0]
    }

    It 'snapshots all volumes of an instance together, and leaves the boot volume out with -ExcludeBootVolume' {
        $seeded = New-Instance 1 -DataVolumes 2 -State stopped
        $instance = $seeded.instanceIds[0]
        $all = New-AvSnapshot @Aws -InstanceId $instance -Region us-east-1
        $all | Should -HaveCount 3
        $all.InstanceId | Sort-Object -Unique | Should -Be $instance
        @($all.StartTime | Sort-Object -Unique).Count | Should -Be 1

        $data = [pscustomobject]@{ InstanceId = $instance } | New-AvSnapshot @Aws -Region us-east-1 -ExcludeBootVolume
        $data | Should -HaveCount 2
    }

    It 'expands the description template and sets -Tag and the volume tags at creation' {
        $volume = New-Volume 1 -Tags @{ Backup = 'daily' } -NamePrefix data
        $result = New-AvSnapshot @Aws $volume[0] -Region us-east-1 -Description 'Nightly {VolumeName} ({VolumeId})' -Tag @{ Purpose = 'dr' } -CopyVolumeTags
        $result.Description | Should -Be "Nightly data-1 ($($volume[0]))"
        $result.Tags['Purpose'] | Should -Be 'dr'
        $result.Tags['Backup'] | Should -Be 'daily'
    }

    It 'makes no call with -WhatIf and creates nothing with -DryRun' {
        $volume = New-Volume 1
        $volume | New-AvSnapshot @Aws -Region us-east-1 -WhatIf | Should -BeNullOrEmpty
        (Get-Stats).totalCalls | Should -Be 0
        ($volume | New-AvSnapshot @Aws -Region us-east-1 -DryRun).State | Should -Be 'DryRun'
    }

    It 'outputs pending snapshots at once with -NoWait, and Wait-AvSnapshot waits for them' {
        Reset-Emulator -CopySeconds 2
        $volumes = New-Volume 2
        $pending = $volumes | New-AvSnapshot @Aws -Region us-east-1 -NoWait
        $pending.State | Sort-Object -Unique | Should -Be 'Pending'
        $done = $pending | Wait-AvSnapshot @Aws
        $done.State | Sort-Object -Unique | Should -Be 'Completed'
        $done.SnapshotId | Sort-Object | Should -Be ($pending.SnapshotId | Sort-Object)
    }

    It 'fails a missing volume alone with VolumeNotFound' {
        $volume = New-Volume 1
        $results = $volume[0], 'vol-0000000000000000a' | New-AvSnapshot @Aws -Region us-east-1 -ErrorVariable errors -ErrorAction SilentlyContinue
        ($results | Where-Object State -eq 'Completed') | Should -HaveCount 1
        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'VolumeNotFound,Avtomat.Ec2.Commands.NewAvSnapshotCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'warns once when root volumes of running instances are snapshotted' {
        $seeded = New-Instance 2 -DataVolumes 1 -State running
        $roots = foreach ($i in $seeded.instanceIds) { $seeded.instanceVolumeIds.$i[0] }
        $null = $roots | New-AvSnapshot @Aws -Region us-east-1 -WarningVariable warnings -WarningAction SilentlyContinue
        @($warnings | Where-Object { "$_" -match 'root' }) | Should -HaveCount 1
    }

    It 'runs the one-line backup pipeline' {
        $tagged = New-Volume 2 -Tags @{ Backup = 'daily' }
        $copies = $tagged | ForEach-Object { [pscustomobject]@{ VolumeId = $_; AvailabilityZone = 'us-east-1a' } } |
            New-AvSnapshot @Aws -CopyVolumeTags | Copy-AvSnapshot @Aws -DestinationRegion us-west-2, eu-west-1 -Encrypted -CopyTags
        $copies | Should -HaveCount 4
        $copies.State | Sort-Object -Unique | Should -Be 'Completed'
        $copies.Encrypted | Sort-Object -Unique | Should -BeTrue
    }

    It 'has help with the consistency advice, examples and every parameter' {
        $help = Get-Help New-AvSnapshot -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.description.Text -join ' ' | Should -Match 'freeze'
        @($help.examples.example).Count | Should -BeGreaterOrEqual 3
        $documented = $help.parameters.parameter.name
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($p in (Get-Command New-AvSnapshot).Parameters.Values) {
            if ($p.Name -in $common -or ($p.Attributes | Where-Object { $_ -is [Parameter] -and $_.DontShow })) { continue }
            $documented | Should -Contain $p.Name
        }
    }

    It 'completes region names and locations' {
        $line = 'New-AvSnapshot -Region us-we'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'us-west-2'
        $line = 'New-AvSnapshot -Location '
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'local'
    }
}
