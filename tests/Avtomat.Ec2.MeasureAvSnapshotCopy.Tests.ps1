#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Measure-AvSnapshotCopy on a real pwsh, through the built module folder: one plan object, read-only. Everything else
# (kinds against the emulator, costs, errors, views) is tested in the hosted runspace:
# tests/Avtomat.Ec2.PowerShell.Tests/MeasureAvSnapshotCopy/*.cs.
# Run after `dotnet build`:  Invoke-Pester ./tests/Avtomat.Ec2.MeasureAvSnapshotCopy.Tests.ps1

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1')
}

AfterAll {
    Stop-AvTestEmulator
}

Describe 'Measure-AvSnapshotCopy' {
    BeforeEach { Reset-Emulator }

    It 'writes one plan with a row per source, and copies nothing' {
        $ids = New-Snapshot 2
        $plan = $ids | Measure-AvSnapshotCopy @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2
        $plan | Should -HaveCount 1
        $plan.CopyCount | Should -Be 2
        $plan.Full | Should -Be 2
        $plan.Copies | Should -HaveCount 2
        ($ids | Copy-AvSnapshot @Aws -SourceRegion us-east-1 -DestinationRegion us-west-2).Kind | Sort-Object -Unique | Should -Be 'Full'
    }
}
