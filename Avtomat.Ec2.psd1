@{
    RootModule           = 'Avtomat.Ec2.dll'
    # Loaded before the root module: places the engine and its AWSSDK copy in the module's own load context (PowerShell 7)
    # so AWS.Tools, with any AWSSDK build, works beside it in either import order.
    NestedModules        = @('Avtomat.Ec2.Loader.dll')
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0f3c1e-6a42-4d8e-9c7a-2f1e8d4b7a90'
    Author               = 'Avtomat developers'
    CompanyName          = 'Avtomat'
    Copyright            = '(c) Avtomat developers. All rights reserved.'
    Description          = 'Copy and create EBS snapshots at scale: concurrency-limited, progress-reporting, duplicate-free snapshot copies across regions, on top of the AWS Tools credential and region context.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    CmdletsToExport      = @('Copy-AvSnapshot', 'New-AvSnapshot', 'Wait-AvSnapshot')
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    FormatsToProcess     = @('Avtomat.Ec2.Format.ps1xml')
    PrivateData          = @{
        PSData = @{
            Tags         = @('AWS', 'EC2', 'EBS', 'Snapshot', 'Backup', 'DisasterRecovery', 'PSEdition_Desktop', 'PSEdition_Core')
            ProjectUri   = 'https://github.com/avtomat/Avtomat.Ec2'
            LicenseUri   = 'https://github.com/avtomat/Avtomat.Ec2/blob/main/LICENSE'
            ReleaseNotes = 'Initial foundation: module layout and EC2 emulator.'
        }
    }
}
