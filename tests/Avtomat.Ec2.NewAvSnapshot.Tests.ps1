#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# New-AvSnapshot on a real pwsh, through the built module folder (its loader and Dependencies/, which the hosted tests do
# not load: their runspace reuses the cmdlet assembly the test project references): the README's one-line backup,
# New-AvSnapshot piped into Copy-AvSnapshot. Everything else about the cmdlet (binding, both parameter sets, templates
# and tags, -WhatIf, -DryRun, -NoWait, errors, the root-volume warning, help, completion) is tested in the hosted
# runspace: tests/Avtomat.Ec2.PowerShell.Tests/NewAvSnapshot/*.cs and BackupPipelineTests.cs (300 volumes).
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

    It 'runs the one-line backup pipeline' {
        $tagged = New-Volume 2 -Tags @{ Backup = 'daily' }
        $copies = $tagged | ForEach-Object { [pscustomobject]@{ VolumeId = $_; AvailabilityZone = 'us-east-1a' } } |
            New-AvSnapshot @Aws -CopyVolumeTags | Copy-AvSnapshot @Aws -DestinationRegion us-west-2, eu-west-1 -Encrypted -CopyTags
        $copies | Should -HaveCount 4
        $copies.State | Sort-Object -Unique | Should -Be 'Completed'
        $copies.Encrypted | Sort-Object -Unique | Should -BeTrue
    }
}
