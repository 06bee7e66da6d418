#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# Pester 5 mirror of tests/Avtomat.Ec2.PowerShell.Tests/ModuleManifestTests.cs, for a real pwsh or Windows PowerShell.
# Run after `dotnet build`:  Invoke-Pester ./tests/Avtomat.Ec2.Module.Tests.ps1

BeforeDiscovery {
    $script:RepoRoot = Split-Path -Parent $PSScriptRoot
}

BeforeAll {
    $script:RepoRoot = Split-Path -Parent $PSScriptRoot
    $script:ModuleDir = Join-Path $RepoRoot 'artifacts/module/Avtomat.Ec2'
    $script:ManifestPath = Join-Path $ModuleDir 'Avtomat.Ec2.psd1'
    $script:SourceManifest = Import-PowerShellDataFile -Path (Join-Path $RepoRoot 'Avtomat.Ec2.psd1')
}

Describe 'Avtomat.Ec2 module folder' {
    It 'contains the module and its dependencies but not System.Management.Automation' {
        foreach ($dll in 'Avtomat.Ec2.dll', 'Avtomat.Ec2.Loader.dll') {
            Join-Path $ModuleDir $dll | Should -Exist
        }
        # The engine and its AWSSDK copy sit in Dependencies/, where only the module's loader reaches them.
        foreach ($dll in 'Avtomat.Ec2.Engine.dll', 'AWSSDK.Core.dll', 'AWSSDK.EC2.dll', 'AWSSDK.SecurityToken.dll') {
            Join-Path $ModuleDir "Dependencies/$dll" | Should -Exist
            Join-Path $ModuleDir $dll | Should -Not -Exist
        }
        Get-ChildItem -Path $ModuleDir -Recurse -Filter 'System.Management.Automation.dll' | Should -BeNullOrEmpty
    }

    It 'loads the engine and its AWSSDK copy into its own load context on PowerShell 7' -Skip:($PSVersionTable.PSEdition -ne 'Core') {
        Import-Module -Name $ManifestPath -Force
        [Avtomat.Ec2.Loader.ModuleDependencies]::EngineLoad | Should -Be 'isolated'
        # The AWSSDK loads on first use: one call (to a closed port, ended by the one-second timeout) loads it.
        $env:AWS_EC2_METADATA_DISABLED = 'true'
        Copy-AvSnapshot -SnapshotId snap-0123456789abcdef0 -SourceRegion us-east-1 -Region us-east-1 -AccessKey AKIDMODULE `
            -SecretKey module-secret -EndpointUrl 'http://127.0.0.1:9/' -Timeout 1 -ErrorAction SilentlyContinue | Out-Null
        # Nothing from Dependencies/ is in the default context, so another AWSSDK build can still load there.
        $dependencies = (Resolve-Path -LiteralPath (Join-Path $ModuleDir 'Dependencies')).Path
        [System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies |
            Where-Object { $_.Location -and $_.Location.StartsWith($dependencies) } | Should -BeNullOrEmpty
        $ours = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object { $_.GetType().Name -eq 'ModuleLoadContext' }
        $ours.Assemblies.GetName().Name | Should -Contain 'AWSSDK.EC2'
    }

    It 'carries the root manifest unchanged' {
        Get-Content -Raw $ManifestPath | Should -BeExactly (Get-Content -Raw (Join-Path $RepoRoot 'Avtomat.Ec2.psd1'))
    }

    It 'passes Test-ModuleManifest for Desktop and Core, PowerShell 5.1' {
        $info = Test-ModuleManifest -Path $ManifestPath -ErrorAction Stop
        $info.Name | Should -Be 'Avtomat.Ec2'
        $info.CompatiblePSEditions | Should -Contain 'Desktop'
        $info.CompatiblePSEditions | Should -Contain 'Core'
        $info.PowerShellVersion | Should -Be ([version]'5.1')
    }
}

Describe 'Importing Avtomat.Ec2' {
    BeforeAll {
        $script:Module = Import-Module -Name $ManifestPath -Force -PassThru -ErrorAction Stop
    }
    AfterAll {
        Remove-Module -Name Avtomat.Ec2 -Force -ErrorAction SilentlyContinue
    }

    It 'loads as a binary module with the manifest version' {
        $Module.ModuleType | Should -Be 'Binary'
        $Module.Version | Should -Be ([version]$SourceManifest.ModuleVersion)
    }

    It 'exports exactly the cmdlets the manifest declares' {
        @($Module.ExportedCommands.Keys | Sort-Object) | Should -Be @($SourceManifest.CmdletsToExport | Sort-Object)
    }

    It 'exports no functions, variables or aliases' {
        $SourceManifest.FunctionsToExport | Should -BeNullOrEmpty
        $SourceManifest.VariablesToExport | Should -BeNullOrEmpty
        $SourceManifest.AliasesToExport | Should -BeNullOrEmpty
    }
}
