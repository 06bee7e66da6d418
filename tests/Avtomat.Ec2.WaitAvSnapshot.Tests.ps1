#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 mirror of tests/Avtomat.Ec2.PowerShell.Tests/WaitAvSnapshot/*.cs, for a real pwsh (or Windows PowerShell 5.1).
# Run after `dotnet build`:  Invoke-Pester ./tests/Avtomat.Ec2.WaitAvSnapshot.Tests.ps1
# Starts the EC2 emulator program on a free port (fast, fixed durations) and drives it through its control API.

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1')
}

AfterAll {
    Stop-AvTestEmulator
}

Describe 'Wait-AvSnapshot' {
    BeforeEach { Reset-Emulator }

    It 'waits for copies started with Copy-AvSnapshot -NoWait, in their destination region' {
        Reset-Emulator -CopySeconds 2
        $ids = New-Snapshot 2
        $started = $ids | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2 -NoWait
        $started.State | Sort-Object -Unique | Should -Be 'Pending'
        $done = $started | Wait-AvSnapshot @Aws
        $done | Should -HaveCount 2
        $done.Region | Sort-Object -Unique | Should -Be 'us-west-2'
        $done.State | Sort-Object -Unique | Should -Be 'Completed'
    }

    It 'takes ids by value with -Region, and returns completed snapshots at once' {
        $ids = New-Snapshot 2 ap-southeast-2
        $done = $ids | Wait-AvSnapshot @Aws -Region ap-southeast-2
        $done.SnapshotId | Sort-Object | Should -Be ($ids | Sort-Object)
    }

    It 'writes one OperationTimeout error per snapshot when -Timeout runs out' {
        Reset-Emulator -CopySeconds 120
        $pending = New-Volume 2 | New-AvSnapshot @Aws -Region us-east-1 -NoWait
        $results = $pending | Wait-AvSnapshot @Aws -TimeoutSec 2 -ErrorVariable errors -ErrorAction SilentlyContinue
        $results.State | Sort-Object -Unique | Should -Be 'TimedOut'
        $errors | Should -HaveCount 2
        $errors.CategoryInfo.Category | Sort-Object -Unique | Should -Be 'OperationTimeout'
        $errors.TargetObject | Sort-Object | Should -Be ($pending.SnapshotId | Sort-Object)
    }

    It 'returns when the first snapshot finishes with -Any' {
        Reset-Emulator -CopySeconds 120
        $completed = New-Snapshot 1
        $pending = @((Invoke-Emulator seed POST @{ region = 'us-east-1'; snapshots = 1; state = 'pending' }).snapshotIds)
        $first = Wait-AvSnapshot @Aws $pending[0], $completed[0] -Region us-east-1 -Any
        $first.SnapshotId | Should -Be $completed[0]
    }

    It 'fails a snapshot in the error state with SnapshotFailed and EC2''s status message' {
        $bad = @((Invoke-Emulator seed POST @{ region = 'us-east-1'; snapshots = 1; state = 'error'; statusMessage = 'Disk read failure' }).snapshotIds)
        $result = Wait-AvSnapshot @Aws $bad[0] -Region us-east-1 -ErrorVariable errors -ErrorAction SilentlyContinue
        $result.State | Should -Be 'Failed'
        $result.StatusMessage | Should -Be 'Disk read failure'
        $errors[0].FullyQualifiedErrorId | Should -Be 'SnapshotFailed,Avtomat.Ec2.Commands.WaitAvSnapshotCommand'
    }

    It 'has help with examples and every parameter' {
        $help = Get-Help Wait-AvSnapshot -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        @($help.examples.example).Count | Should -BeGreaterOrEqual 3
        $documented = $help.parameters.parameter.name
        $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
        foreach ($p in (Get-Command Wait-AvSnapshot).Parameters.Values) {
            if ($p.Name -in $common) { continue }
            $documented | Should -Contain $p.Name
        }
    }
}
